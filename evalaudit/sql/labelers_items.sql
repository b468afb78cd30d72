-- One row per item of the items table: whether it carries a gold label, and for honeypot (control) items whether
-- the known answer is the positive label $positive (NULL for items that are not honeypots).
SELECT
    item_id,
    MAX(CASE WHEN gold_label IS NOT NULL AND honeypot_label IS NULL THEN 1 ELSE 0 END) AS is_gold,
    MAX(CASE WHEN honeypot_label IS NULL THEN NULL WHEN honeypot_label = $positive THEN 1 ELSE 0 END)
        AS honeypot_positive
FROM items
GROUP BY item_id
