-- One row: the batch's distinct items, and how many of them two or more distinct labelers of the batch judged
-- (MIN <> MAX of the labeler ids: the same items as COUNT(DISTINCT labeler_id) >= 2, without hashing every pair).
SELECT
    COUNT(*) AS n_items,
    SUM(CASE WHEN first_labeler <> last_labeler THEN 1 ELSE 0 END) AS n_overlap_items
FROM (
    SELECT item_id, MIN(labeler_id) AS first_labeler, MAX(labeler_id) AS last_labeler
    FROM batch
    WHERE item_id IS NOT NULL AND labeler_id IS NOT NULL
    GROUP BY item_id
) AS per_item
