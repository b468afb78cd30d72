-- One row per labeler × failure mode (first and last judgment) plus one row per labeler with failure_mode 'all'
-- (also the median duration of their judgments; per failure mode it is left NULL to keep this one cheap pass).
SELECT
    labeler_id,
    failure_mode,
    CAST(NULL AS DOUBLE) AS median_duration_s,
    MIN(labeled_at) AS first_labeled_at,
    MAX(labeled_at) AS last_labeled_at
FROM labelers_judgments
GROUP BY labeler_id, failure_mode
UNION ALL
SELECT
    labeler_id,
    'all' AS failure_mode,
    MEDIAN(duration_s) AS median_duration_s,
    MIN(labeled_at) AS first_labeled_at,
    MAX(labeled_at) AS last_labeled_at
FROM labelers_judgments
GROUP BY labeler_id
