-- One row per stored row of the items table whose item is in the re-labeling queue (the view `relabel_queue`,
-- one item_id per row), every column, earliest stored first (so that, read in order, an item's last stored row is
-- its current one): the content columns `evalaudit relabel` exports with each item.
SELECT i.*
FROM items AS i
JOIN relabel_queue AS q ON q.item_id = i.item_id
ORDER BY i.ingested_at ASC NULLS FIRST, i.source_file ASC NULLS FIRST, i.source_row ASC NULLS FIRST
