-- One row per labeler the labelers table marks as a model judge (kind 'model'), by id.
SELECT DISTINCT labeler_id AS judge_id
FROM labelers
WHERE kind = 'model'
ORDER BY judge_id
