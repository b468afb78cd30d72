-- One row per labeler listed in the labelers table.
SELECT DISTINCT labeler_id
FROM labelers
WHERE labeler_id IS NOT NULL
ORDER BY labeler_id NULLS LAST
