-- One row: the batch's distinct items, and how many of them two or more distinct labelers of the batch judged.
SELECT
    COUNT(*) AS n_items,
    SUM(CASE WHEN n_labelers >= 2 THEN 1 ELSE 0 END) AS n_overlap_items
FROM (
    SELECT item_id, COUNT(DISTINCT labeler_id) AS n_labelers
    FROM batch
    WHERE item_id IS NOT NULL AND labeler_id IS NOT NULL
    GROUP BY item_id
) AS per_item
