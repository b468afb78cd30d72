-- One row per item of the items table: its failure mode, gold label and honeypot (known) answer as the items table
-- says them today — the one rule for an item listed more than once: its latest ingested row (`ingested_at`) wins.
-- The engine offers this as the view `item_answers` beside `items`; every query that reads an item's failure mode,
-- gold label or honeypot answer reads them here (labelers_items, items_facts, contracts_honeypot). Rows without an
-- ingest time (a table handed to the Python API) count as the oldest.
SELECT
    item_id,
    max_by(failure_mode, COALESCE(ingested_at, CAST('1900-01-01' AS TIMESTAMP))) AS failure_mode,
    max_by(gold_label, COALESCE(ingested_at, CAST('1900-01-01' AS TIMESTAMP))) AS gold_label,
    max_by(honeypot_label, COALESCE(ingested_at, CAST('1900-01-01' AS TIMESTAMP))) AS honeypot_label
FROM items
GROUP BY item_id
