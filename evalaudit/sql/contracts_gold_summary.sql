-- One row: the gold items (distinct items with judgments), how many are stale — no judgment under the current
-- guideline ($check_guideline = 1, $current_guideline) or the latest judgment older than $cutoff — and how many
-- a single labeler judged.
WITH per_item AS (
    SELECT
        item_id,
        COUNT(DISTINCT labeler_id) AS n_labelers,
        SUM(CASE WHEN guideline_version = $current_guideline THEN 1 ELSE 0 END) AS n_current,
        MAX(labeled_at) AS last_labeled_at
    FROM labels
    WHERE item_id IS NOT NULL
    GROUP BY item_id
)
SELECT
    COUNT(*) AS n_items,
    CAST(SUM(CASE WHEN ($check_guideline = 1 AND n_current = 0) OR last_labeled_at < $cutoff THEN 1 ELSE 0 END)
        AS BIGINT) AS n_stale,
    CAST(SUM(CASE WHEN n_labelers = 1 THEN 1 ELSE 0 END) AS BIGINT) AS n_single_labeled
FROM per_item
