-- One row per labeler × failure mode of the batch: judgments and positive judgments (label = $positive) in the
-- batch, in the labeler's own history in the store, and in their peers' history (everyone else in the store) on
-- that failure mode.
WITH batch_rates AS (
    SELECT
        labeler_id,
        failure_mode,
        COUNT(*) AS n_batch,
        SUM(CASE WHEN label = $positive THEN 1 ELSE 0 END) AS pos_batch
    FROM batch
    WHERE labeler_id IS NOT NULL AND label IS NOT NULL
    GROUP BY labeler_id, failure_mode
),
history AS (
    SELECT
        labeler_id,
        failure_mode,
        COUNT(*) AS n,
        SUM(CASE WHEN label = $positive THEN 1 ELSE 0 END) AS pos
    FROM labels
    GROUP BY labeler_id, failure_mode
),
fm_history AS (
    SELECT failure_mode, SUM(n) AS n, SUM(pos) AS pos
    FROM history
    GROUP BY failure_mode
)
SELECT
    b.labeler_id,
    b.failure_mode,
    b.n_batch,
    b.pos_batch,
    COALESCE(h.n, 0) AS n_own,
    COALESCE(h.pos, 0) AS pos_own,
    COALESCE(f.n, 0) - COALESCE(h.n, 0) AS n_peers,
    COALESCE(f.pos, 0) - COALESCE(h.pos, 0) AS pos_peers
FROM batch_rates AS b
LEFT JOIN history AS h ON b.labeler_id = h.labeler_id AND b.failure_mode = h.failure_mode
LEFT JOIN fm_history AS f ON b.failure_mode = f.failure_mode
ORDER BY b.labeler_id NULLS LAST, b.failure_mode NULLS LAST
