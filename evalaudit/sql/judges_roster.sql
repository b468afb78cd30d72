-- One row per model judge (labelers.kind = 'model'): its judgments that count, and the time of its first and last
-- judgment (NULL when none of them has a labeled_at), which order the versions of one judge.
SELECT
    m.labeler_id AS judge_id,
    CAST(COUNT(j.item_id) AS BIGINT) AS n_judgments,
    MIN(j.labeled_at) AS first_at,
    MAX(j.labeled_at) AS last_at
FROM (SELECT DISTINCT labeler_id FROM labelers WHERE kind = 'model') AS m
LEFT JOIN judgments AS j ON j.labeler_id = m.labeler_id
GROUP BY m.labeler_id
