-- One row per labeler × failure mode of the batch, for ordered and numeric label spaces: the count, sum and sum of
-- squares of the labels' scores (view `label_scores`: label -> score, the category's rank or the number) in the
-- batch, in the labeler's own history on the failure mode, and in everyone's history on it (peers = all - own).
WITH batch_scored AS (
    SELECT b.labeler_id, b.failure_mode, s.score
    FROM batch AS b
    JOIN label_scores AS s ON b.label = s.label
    WHERE b.labeler_id IS NOT NULL
),
batch_cells AS (
    SELECT labeler_id, failure_mode, COUNT(*) AS n, SUM(score) AS s1, SUM(score * score) AS s2
    FROM batch_scored
    GROUP BY labeler_id, failure_mode
),
history_scored AS (
    SELECT l.labeler_id, l.failure_mode, s.score
    FROM labels AS l
    JOIN label_scores AS s ON l.label = s.label
    JOIN (SELECT DISTINCT failure_mode FROM batch_cells) AS f ON l.failure_mode = f.failure_mode
),
own AS (
    SELECT h.labeler_id, h.failure_mode, COUNT(*) AS n, SUM(h.score) AS s1, SUM(h.score * h.score) AS s2
    FROM history_scored AS h
    JOIN batch_cells AS c ON h.labeler_id = c.labeler_id AND h.failure_mode = c.failure_mode
    GROUP BY h.labeler_id, h.failure_mode
),
everyone AS (
    SELECT failure_mode, COUNT(*) AS n, SUM(score) AS s1, SUM(score * score) AS s2
    FROM history_scored
    GROUP BY failure_mode
)
SELECT
    c.labeler_id,
    c.failure_mode,
    CAST(c.n AS BIGINT) AS n_batch,
    CAST(c.s1 AS DOUBLE) AS s1_batch,
    CAST(c.s2 AS DOUBLE) AS s2_batch,
    CAST(COALESCE(o.n, 0) AS BIGINT) AS n_own,
    CAST(COALESCE(o.s1, 0) AS DOUBLE) AS s1_own,
    CAST(COALESCE(o.s2, 0) AS DOUBLE) AS s2_own,
    CAST(COALESCE(e.n, 0) AS BIGINT) AS n_all,
    CAST(COALESCE(e.s1, 0) AS DOUBLE) AS s1_all,
    CAST(COALESCE(e.s2, 0) AS DOUBLE) AS s2_all
FROM batch_cells AS c
LEFT JOIN own AS o ON c.labeler_id = o.labeler_id AND c.failure_mode = o.failure_mode
LEFT JOIN everyone AS e ON c.failure_mode = e.failure_mode
ORDER BY c.labeler_id NULLS LAST, c.failure_mode NULLS LAST
