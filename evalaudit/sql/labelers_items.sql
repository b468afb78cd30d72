-- One row per item of the items table: the gold label the eval uses today and, for honeypot (control) items, the
-- known answer (NULL for items that are not honeypots). Which items are gold is decided by evalaudit.gold (every
-- judged item that is not a honeypot).
SELECT
    item_id,
    MAX(gold_label) AS listed_label,
    MAX(honeypot_label) AS honeypot_label
FROM items
GROUP BY item_id
