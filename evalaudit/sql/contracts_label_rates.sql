-- One row per labeler × failure mode of the batch × label: that label's judgments in the batch (n_batch), in the
-- labeler's own history on the failure mode (n_own) and in everyone's history on it (n_all; the peers' count is
-- n_all - n_own). A cell's totals are the sums over its labels.
WITH batch_cells AS (
    SELECT labeler_id, failure_mode, label, COUNT(*) AS n
    FROM batch
    WHERE labeler_id IS NOT NULL AND label IS NOT NULL
    GROUP BY labeler_id, failure_mode, label
),
cells AS (
    SELECT DISTINCT labeler_id, failure_mode
    FROM batch_cells
),
batch_failure_modes AS (
    SELECT DISTINCT failure_mode
    FROM batch_cells
),
own AS (
    SELECT l.labeler_id, l.failure_mode, l.label, COUNT(*) AS n
    FROM labels AS l
    JOIN cells AS c ON l.labeler_id = c.labeler_id AND l.failure_mode = c.failure_mode
    WHERE l.label IS NOT NULL
    GROUP BY l.labeler_id, l.failure_mode, l.label
),
everyone AS (
    SELECT l.failure_mode, l.label, COUNT(*) AS n
    FROM labels AS l
    JOIN batch_failure_modes AS f ON l.failure_mode = f.failure_mode
    WHERE l.label IS NOT NULL
    GROUP BY l.failure_mode, l.label
),
keys AS (
    SELECT labeler_id, failure_mode, label FROM batch_cells
    UNION
    SELECT c.labeler_id, c.failure_mode, e.label
    FROM cells AS c
    JOIN everyone AS e ON c.failure_mode = e.failure_mode
)
SELECT
    k.labeler_id,
    k.failure_mode,
    k.label,
    CAST(COALESCE(b.n, 0) AS BIGINT) AS n_batch,
    CAST(COALESCE(o.n, 0) AS BIGINT) AS n_own,
    CAST(COALESCE(e.n, 0) AS BIGINT) AS n_all
FROM keys AS k
LEFT JOIN batch_cells AS b ON k.labeler_id = b.labeler_id AND k.failure_mode = b.failure_mode AND k.label = b.label
LEFT JOIN own AS o ON k.labeler_id = o.labeler_id AND k.failure_mode = o.failure_mode AND k.label = o.label
LEFT JOIN everyone AS e ON k.failure_mode = e.failure_mode AND k.label = e.label
ORDER BY k.labeler_id NULLS LAST, k.failure_mode NULLS LAST, k.label NULLS LAST
