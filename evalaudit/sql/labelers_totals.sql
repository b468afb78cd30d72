-- One row per failure mode, plus one row 'all': judgments, distinct items, gold items (every non-honeypot item when
-- $all_gold = 1) and the median duration of all judgments.
WITH per_item AS (
    SELECT
        j.item_id,
        j.failure_mode,
        COUNT(*) AS n_labels,
        MAX(CASE WHEN h.honeypot_positive IS NOT NULL THEN 0
                 WHEN $all_gold = 1 THEN 1
                 WHEN h.is_gold = 1 THEN 1 ELSE 0 END) AS gold
    FROM labelers_judgments AS j
    LEFT JOIN labelers_items AS h ON j.item_id = h.item_id
    GROUP BY j.item_id, j.failure_mode
)
SELECT failure_mode, SUM(n_labels) AS n_judgments, COUNT(*) AS n_items, SUM(gold) AS n_gold_items
FROM per_item
GROUP BY failure_mode
UNION ALL
SELECT 'all' AS failure_mode, SUM(n_labels) AS n_judgments, COUNT(*) AS n_items, SUM(gold) AS n_gold_items
FROM per_item
