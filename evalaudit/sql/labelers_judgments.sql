-- One row per labeler × item × failure mode: the labeler's latest judgment of that item (repeated judgments of one
-- item by one labeler: the one with the latest labeled_at wins; the count of repeats is kept), coded 1 when the
-- label is the positive label $positive and 0 otherwise, with its time, ISO week, batch and duration.
SELECT
    item_id,
    labeler_id,
    COALESCE(failure_mode, 'unspecified') AS failure_mode,
    CASE WHEN max_by(label, labeled_at) = $positive THEN 1 ELSE 0 END AS is_positive,
    MAX(labeled_at) AS labeled_at,
    CAST(DATE_TRUNC('week', MAX(labeled_at)) AS DATE) AS week,
    max_by(batch_id, labeled_at) AS batch_id,
    max_by(duration_s, labeled_at) AS duration_s,
    COUNT(*) AS n_repeats
FROM labels
GROUP BY item_id, labeler_id, COALESCE(failure_mode, 'unspecified')
