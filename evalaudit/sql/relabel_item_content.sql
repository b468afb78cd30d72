-- One row per stored row of the items table, every column, earliest stored first (so that, read in order, an
-- item's last stored row is its current one): the content columns `evalaudit relabel` exports with each item.
SELECT *
FROM items
ORDER BY ingested_at ASC NULLS FIRST, source_file ASC NULLS FIRST, source_row ASC NULLS FIRST
