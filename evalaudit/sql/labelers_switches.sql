-- One row per labeler: of their consecutive judgments (ordered by time, then item), how many switch between
-- positive and not positive, out of how many consecutive pairs — for spotting alternating answer patterns.
WITH seq AS (
    SELECT
        labeler_id,
        is_positive,
        LAG(is_positive) OVER (PARTITION BY labeler_id ORDER BY labeled_at, item_id) AS prev
    FROM labelers_judgments
)
SELECT
    labeler_id,
    COUNT(prev) AS n_pairs,
    SUM(CASE WHEN prev IS NOT NULL AND prev <> is_positive THEN 1 ELSE 0 END) AS n_switches
FROM seq
GROUP BY labeler_id
