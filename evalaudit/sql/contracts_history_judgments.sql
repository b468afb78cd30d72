-- The history the batch's agreement is compared with: one row per judgment already in the store on the failure
-- modes the batch covers, on the $max_items most recently judged items that two or more distinct labelers judged
-- (the items agreement is measured on; recent history is the team's current level, and the cap bounds the cost
-- on large stores). `by_batch_labeler` = 1 marks the judgments of the batch's own labelers, so the caller can
-- measure their agreement among themselves where they shared enough items.
WITH batch_failure_modes AS (
    SELECT DISTINCT failure_mode
    FROM batch
    WHERE failure_mode IS NOT NULL
),
batch_labelers AS (
    SELECT DISTINCT labeler_id
    FROM batch
    WHERE labeler_id IS NOT NULL
),
history AS (
    SELECT
        l.item_id,
        l.labeler_id,
        l.label,
        l.labeled_at,
        CASE WHEN w.labeler_id IS NULL THEN 0 ELSE 1 END AS by_batch_labeler
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    LEFT JOIN batch_labelers AS w ON l.labeler_id = w.labeler_id
    WHERE l.item_id IS NOT NULL AND l.labeler_id IS NOT NULL AND l.label IS NOT NULL
),
pairable AS (
    SELECT item_id, MAX(labeled_at) AS last_labeled_at
    FROM history
    GROUP BY item_id
    HAVING COUNT(DISTINCT labeler_id) >= 2
),
recent AS (
    SELECT item_id
    FROM (
        SELECT item_id, ROW_NUMBER() OVER (ORDER BY last_labeled_at DESC NULLS LAST, item_id) AS recency
        FROM pairable
    ) AS ranked
    WHERE recency <= $max_items
)
SELECT h.item_id, h.labeler_id, h.label, h.by_batch_labeler
FROM history AS h
JOIN recent AS r ON h.item_id = r.item_id
