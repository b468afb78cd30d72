-- One row per item of the items table: whether it carries a gold label, the gold label the eval uses today and, for
-- honeypot (control) items, the known answer (NULL for items that are not honeypots).
SELECT
    item_id,
    MAX(CASE WHEN gold_label IS NOT NULL AND honeypot_label IS NULL THEN 1 ELSE 0 END) AS is_gold,
    MAX(gold_label) AS listed_label,
    MAX(honeypot_label) AS honeypot_label
FROM items
GROUP BY item_id
