-- The history the batch's agreement is compared with: one row per judgment already in the store on the failure
-- modes the batch covers, on items that two or more distinct labelers judged (the items agreement is measured on).
-- With $same_labelers = 1 only the judgments of the batch's own labelers count (their agreement among themselves
-- so far); with 0, everyone's.
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
    SELECT l.item_id, l.labeler_id, l.label
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    LEFT JOIN batch_labelers AS w ON l.labeler_id = w.labeler_id
    WHERE l.item_id IS NOT NULL AND l.labeler_id IS NOT NULL AND l.label IS NOT NULL
        AND ($same_labelers = 0 OR w.labeler_id IS NOT NULL)
),
pairable AS (
    SELECT item_id
    FROM history
    GROUP BY item_id
    HAVING COUNT(DISTINCT labeler_id) >= 2
)
SELECT h.item_id, h.labeler_id, h.label
FROM history AS h
JOIN pairable AS p ON h.item_id = p.item_id
