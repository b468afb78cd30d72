-- One row: the size and time span of the labeling history in the store.
SELECT
    COUNT(*) AS n_judgments,
    COUNT(DISTINCT item_id) AS n_items,
    COUNT(DISTINCT labeler_id) AS n_labelers,
    COUNT(DISTINCT failure_mode) AS n_failure_modes,
    MIN(labeled_at) AS first_labeled_at,
    MAX(labeled_at) AS last_labeled_at
FROM labels
