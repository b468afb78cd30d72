-- One row per labeler × failure mode: on single-label items (no peer judged the same item), the labeler's positive
-- rate against peers' on the same failure mode within the same stratum (the batch when $by_batch = 1 and the
-- judgment has one, else the ISO week), as Cochran–Mantel–Haenszel sums over strata that hold both the labeler and
-- peers: observed minus expected own positives, its null variance, and the Mantel–Haenszel risk difference's
-- numerator, denominator and large-strata variance numerator.
WITH per_item AS (
    SELECT item_id, failure_mode, COUNT(*) AS n_labels
    FROM labelers_judgments
    GROUP BY item_id, failure_mode
),
single AS (
    SELECT
        j.labeler_id,
        j.failure_mode,
        CASE WHEN $by_batch = 1 AND j.batch_id IS NOT NULL THEN 'b:' || j.batch_id
             ELSE 'w:' || CAST(j.week AS STRING) END AS stratum,
        j.is_positive
    FROM labelers_judgments AS j
    JOIN per_item AS p ON j.item_id = p.item_id AND j.failure_mode = p.failure_mode
    WHERE p.n_labels = 1
),
cell AS (
    SELECT labeler_id, failure_mode, stratum, COUNT(*) AS n1, SUM(is_positive) AS a
    FROM single
    GROUP BY labeler_id, failure_mode, stratum
),
strat AS (
    SELECT failure_mode, stratum, COUNT(*) AS n, SUM(is_positive) AS m1
    FROM single
    GROUP BY failure_mode, stratum
),
t AS (
    SELECT
        c.labeler_id,
        c.failure_mode,
        CAST(c.a AS DOUBLE) AS a,
        CAST(c.n1 AS DOUBLE) AS n1,
        CAST(s.m1 - c.a AS DOUBLE) AS c0,
        CAST(s.n - c.n1 AS DOUBLE) AS n0,
        CAST(s.n AS DOUBLE) AS nt,
        CAST(s.m1 AS DOUBLE) AS m1
    FROM cell AS c
    JOIN strat AS s ON c.failure_mode = s.failure_mode AND c.stratum = s.stratum
    WHERE s.n > c.n1
)
SELECT
    labeler_id,
    failure_mode,
    CAST(SUM(n1) AS BIGINT) AS n,
    CAST(SUM(a) AS BIGINT) AS n_own_pos,
    CAST(SUM(n0) AS BIGINT) AS n_peer,
    CAST(SUM(c0) AS BIGINT) AS n_peer_pos,
    COUNT(*) AS n_strata,
    SUM(a - n1 * m1 / NULLIF(nt, 0)) AS o_minus_e,
    SUM(n1 * n0 * m1 * (nt - m1) / NULLIF(nt * nt * (nt - 1), 0)) AS var_null,
    SUM((a * n0 - c0 * n1) / NULLIF(nt, 0)) AS rd_num,
    SUM(n1 * n0 / NULLIF(nt, 0)) AS rd_den,
    SUM((n1 * n0 / NULLIF(nt, 0)) * (n1 * n0 / NULLIF(nt, 0))
        * (a * (n1 - a) / NULLIF(n1 * n1 * n1, 0) + c0 * (n0 - c0) / NULLIF(n0 * n0 * n0, 0))) AS rd_var_num
FROM t
GROUP BY labeler_id, failure_mode
