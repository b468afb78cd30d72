-- One row per labeler of the batch who judged honeypot items (items with a known `honeypot_label`): honeypot
-- judgments in the batch and how many of them match the known answer.
SELECT
    b.labeler_id,
    COUNT(*) AS n_honeypots,
    SUM(CASE WHEN b.label = h.honeypot_label THEN 1 ELSE 0 END) AS n_correct
FROM batch AS b
JOIN (
    SELECT item_id, MIN(honeypot_label) AS honeypot_label
    FROM items
    WHERE honeypot_label IS NOT NULL
    GROUP BY item_id
) AS h ON b.item_id = h.item_id
WHERE b.labeler_id IS NOT NULL AND b.label IS NOT NULL
GROUP BY b.labeler_id
ORDER BY b.labeler_id NULLS LAST
