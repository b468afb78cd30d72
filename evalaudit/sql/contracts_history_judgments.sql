-- The history the batch's agreement is compared with: one row per judgment already in the store on the failure
-- modes the batch covers, on the $max_items most recently judged items that two or more distinct labelers judged
-- (the items agreement is measured on; recent history is the team's current level, and the cap bounds the cost
-- on large stores). `among_batch_labelers` = 1 marks the judgments of the batch's own labelers on items two or more
-- of them judged, so the caller can measure their agreement among themselves where they shared enough items.
-- "Two or more distinct labelers" is MIN <> MAX of the (non-null) labeler ids: the same items as
-- COUNT(DISTINCT ...) >= 2 without hashing every (item, labeler) pair. One pass over the narrow columns chooses the
-- recent items and marks those two or more of the batch's labelers share; only their judgments are then read.
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
pairable AS (
    SELECT
        l.item_id,
        MAX(l.labeled_at) AS last_labeled_at,
        CASE WHEN MIN(w.labeler_id) <> MAX(w.labeler_id) THEN 1 ELSE 0 END AS shared
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    LEFT JOIN batch_labelers AS w ON l.labeler_id = w.labeler_id
    WHERE l.item_id IS NOT NULL AND l.labeler_id IS NOT NULL AND l.label IS NOT NULL
    GROUP BY l.item_id
    HAVING MIN(l.labeler_id) <> MAX(l.labeler_id)
),
recent AS (
    SELECT item_id, shared
    FROM (
        SELECT item_id, shared, ROW_NUMBER() OVER (ORDER BY last_labeled_at DESC NULLS LAST, item_id) AS recency
        FROM pairable
    ) AS ranked
    WHERE recency <= $max_items
)
SELECT
    l.item_id,
    l.label,
    CASE WHEN r.shared = 1 AND w.labeler_id IS NOT NULL THEN 1 ELSE 0 END AS among_batch_labelers
FROM labels AS l
JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
JOIN recent AS r ON l.item_id = r.item_id
LEFT JOIN batch_labelers AS w ON l.labeler_id = w.labeler_id
WHERE l.labeler_id IS NOT NULL AND l.label IS NOT NULL
