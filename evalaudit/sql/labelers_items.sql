-- One row per item of the items table: the gold label the eval uses today and, for honeypot (control) items, the
-- known answer (NULL for items that are not honeypots) — the latest ingested row of an item wins, as in
-- items_facts. Which items are gold is decided by evalaudit.gold (every judged item that is not a honeypot).
SELECT
    item_id,
    max_by(gold_label, ingested_at) AS listed_label,
    max_by(honeypot_label, ingested_at) AS honeypot_label
FROM items
GROUP BY item_id
