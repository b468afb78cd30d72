-- The history the batch's agreement is compared with: one row per judgment already in the store on the failure
-- modes the batch covers, on the $max_items most recently judged items that two or more distinct labelers judged
-- (the items agreement is measured on; recent history is the team's current level, and the cap bounds the cost
-- on large stores). `among_batch_labelers` = 1 marks the judgments of the batch's own labelers on items two or more
-- of them judged, so the caller can measure their agreement among themselves where they shared enough items.
-- "Two or more distinct labelers" is MIN <> MAX of the (non-null) labeler ids: the same items as
-- COUNT(DISTINCT ...) >= 2 without hashing every (item, labeler) pair. The recent items are chosen from the
-- narrow columns first; only their judgments are then read. The items the batch's labelers share are found among
-- those capped judgments, not in the pass over the whole store (at 2M judgments that pass grew by a quarter).
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
    SELECT l.item_id, MAX(l.labeled_at) AS last_labeled_at
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    WHERE l.item_id IS NOT NULL AND l.labeler_id IS NOT NULL AND l.label IS NOT NULL
    GROUP BY l.item_id
    HAVING MIN(l.labeler_id) <> MAX(l.labeler_id)
),
recent AS (
    SELECT item_id
    FROM (
        SELECT item_id, ROW_NUMBER() OVER (ORDER BY last_labeled_at DESC NULLS LAST, item_id) AS recency
        FROM pairable
    ) AS ranked
    WHERE recency <= $max_items
),
history AS (
    SELECT l.item_id, l.labeler_id, l.label, w.labeler_id AS batch_labeler_id
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    JOIN recent AS r ON l.item_id = r.item_id
    LEFT JOIN batch_labelers AS w ON l.labeler_id = w.labeler_id
    WHERE l.labeler_id IS NOT NULL AND l.label IS NOT NULL
),
shared AS (
    SELECT item_id
    FROM history
    WHERE batch_labeler_id IS NOT NULL
    GROUP BY item_id
    HAVING MIN(batch_labeler_id) <> MAX(batch_labeler_id)
)
SELECT
    h.item_id,
    h.label,
    CASE WHEN h.batch_labeler_id IS NOT NULL AND s.item_id IS NOT NULL THEN 1 ELSE 0 END AS among_batch_labelers
FROM history AS h
LEFT JOIN shared AS s ON h.item_id = s.item_id
