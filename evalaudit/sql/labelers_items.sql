-- One row per item of the items table: the gold label the eval uses today and, for honeypot (control) items, the
-- known answer (NULL for items that are not honeypots), from the view `item_answers` (the latest ingested row of an
-- item wins). Which items are gold is decided by evalaudit.gold (every judged item that is not a honeypot).
SELECT
    item_id,
    gold_label AS listed_label,
    honeypot_label
FROM item_answers
