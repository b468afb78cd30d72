-- One row per judgment of the batch on an item that two or more distinct labelers of the batch judged: the
-- judgments agreement is measured on (MIN <> MAX of the labeler ids: COUNT(DISTINCT labeler_id) >= 2, cheaper).
SELECT b.item_id, b.labeler_id, b.label
FROM batch AS b
JOIN (
    SELECT item_id
    FROM batch
    WHERE labeler_id IS NOT NULL AND label IS NOT NULL
    GROUP BY item_id
    HAVING MIN(labeler_id) <> MAX(labeler_id)
) AS o ON b.item_id = o.item_id
WHERE b.labeler_id IS NOT NULL AND b.label IS NOT NULL
