-- One row per labeler of the batch who judged honeypot items (items whose known answer, in the view `item_answers`,
-- is not NULL: the latest ingested row of an item wins): honeypot
-- judgments and correct ones in the batch (n_honeypots, n_correct), in the labeler's own history in the store
-- (n_own, k_own) and in everyone else's (n_peers, k_peers).
WITH honeypots AS (
    SELECT item_id, honeypot_label
    FROM item_answers
    WHERE honeypot_label IS NOT NULL
),
in_batch AS (
    SELECT
        b.labeler_id,
        COUNT(*) AS n_honeypots,
        SUM(CASE WHEN b.label = h.honeypot_label THEN 1 ELSE 0 END) AS n_correct
    FROM batch AS b
    JOIN honeypots AS h ON b.item_id = h.item_id
    WHERE b.labeler_id IS NOT NULL AND b.label IS NOT NULL
    GROUP BY b.labeler_id
),
in_store AS (
    SELECT
        l.labeler_id,
        COUNT(*) AS n,
        SUM(CASE WHEN l.label = h.honeypot_label THEN 1 ELSE 0 END) AS k
    FROM labels AS l
    JOIN honeypots AS h ON l.item_id = h.item_id
    WHERE l.labeler_id IS NOT NULL AND l.label IS NOT NULL
    GROUP BY l.labeler_id
),
everyone AS (
    SELECT COALESCE(SUM(n), 0) AS n, COALESCE(SUM(k), 0) AS k
    FROM in_store
)
SELECT
    b.labeler_id,
    CAST(b.n_honeypots AS BIGINT) AS n_honeypots,
    CAST(b.n_correct AS BIGINT) AS n_correct,
    CAST(COALESCE(s.n, 0) AS BIGINT) AS n_own,
    CAST(COALESCE(s.k, 0) AS BIGINT) AS k_own,
    CAST(e.n - COALESCE(s.n, 0) AS BIGINT) AS n_peers,
    CAST(e.k - COALESCE(s.k, 0) AS BIGINT) AS k_peers
FROM in_batch AS b
LEFT JOIN in_store AS s ON b.labeler_id = s.labeler_id
LEFT JOIN everyone AS e ON 1 = 1
ORDER BY b.labeler_id NULLS LAST
