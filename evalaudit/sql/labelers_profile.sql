-- One row per labeler × failure mode, plus one row per labeler with failure_mode 'all': judgments, positives,
-- gold items they labeled (every non-honeypot item when $all_gold = 1, i.e. gold comes from consensus), gold items
-- resting on them alone (no other labeler), their weight in the gold (each gold item
-- shared equally among its labelers), median duration, first and last judgment.
WITH per_item AS (
    SELECT item_id, failure_mode, COUNT(*) AS n_labels
    FROM labelers_judgments
    GROUP BY item_id, failure_mode
),
j AS (
    SELECT
        j.labeler_id,
        j.failure_mode,
        j.is_positive,
        j.duration_s,
        j.labeled_at,
        CASE WHEN h.honeypot_positive IS NOT NULL THEN 0
             WHEN $all_gold = 1 THEN 1
             WHEN h.is_gold = 1 THEN 1 ELSE 0 END AS gold,
        p.n_labels
    FROM labelers_judgments AS j
    JOIN per_item AS p ON j.item_id = p.item_id AND j.failure_mode = p.failure_mode
    LEFT JOIN labelers_items AS h ON j.item_id = h.item_id
)
SELECT
    labeler_id,
    failure_mode,
    COUNT(*) AS n_judgments,
    SUM(is_positive) AS n_positive,
    SUM(gold) AS n_gold_items,
    SUM(CASE WHEN gold = 1 AND n_labels = 1 THEN 1 ELSE 0 END) AS n_sole_gold_items,
    SUM(CASE WHEN gold = 1 THEN 1.0 / NULLIF(n_labels, 0) ELSE 0.0 END) AS gold_weight,
    MEDIAN(duration_s) AS median_duration_s,
    MIN(labeled_at) AS first_labeled_at,
    MAX(labeled_at) AS last_labeled_at
FROM j
GROUP BY labeler_id, failure_mode
UNION ALL
SELECT
    labeler_id,
    'all' AS failure_mode,
    COUNT(*) AS n_judgments,
    SUM(is_positive) AS n_positive,
    SUM(gold) AS n_gold_items,
    SUM(CASE WHEN gold = 1 AND n_labels = 1 THEN 1 ELSE 0 END) AS n_sole_gold_items,
    SUM(CASE WHEN gold = 1 THEN 1.0 / NULLIF(n_labels, 0) ELSE 0.0 END) AS gold_weight,
    MEDIAN(duration_s) AS median_duration_s,
    MIN(labeled_at) AS first_labeled_at,
    MAX(labeled_at) AS last_labeled_at
FROM j
GROUP BY labeler_id
