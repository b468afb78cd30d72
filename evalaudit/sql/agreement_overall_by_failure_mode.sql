-- One row: one distinct per-item label-count pattern of the whole history (m and the packed key k1, as in
-- agreement_patterns, over the view `judgments` joined to agreement_label_codes), the failure mode its items belong
-- to, and how many items show it: the `overall` and `failure_mode` scopes from one pass over the judgments. An
-- item belongs to a failure mode when every one of its judgments names that one; failure_mode is NULL for an item
-- whose judgments name several or not all name one, and the failure_mode scope then needs its own query
-- (agreement_patterns). The overall patterns are these rows summed over failure_mode.
WITH per_item AS (
    SELECT
        l.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1,
        MIN(l.failure_mode) AS fm_low,
        MAX(l.failure_mode) AS fm_high,
        COUNT(l.failure_mode) AS n_with_failure_mode
    FROM judgments AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
    GROUP BY l.item_id
),
placed AS (
    SELECT
        CASE WHEN fm_low = fm_high AND n_with_failure_mode = m THEN fm_low END AS failure_mode,
        m,
        k1
    FROM per_item
)
SELECT
    failure_mode,
    m,
    k1,
    COUNT(*) AS n_items
FROM placed
GROUP BY failure_mode, m, k1
