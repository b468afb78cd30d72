-- One row: one distinct per-item label-count pattern (m and the packed key k1, as in agreement_patterns, over the
-- view `judgments` joined to agreement_label_codes) within one slice of the batch scope (by_cell = 0: batch_id) or
-- within one failure mode x time window cell (by_cell = 1: failure_mode, window_start), and how many items show it:
-- agreement_patterns filled for those two slicings, from one scan of the judgments instead of two (the two
-- groupings by slice and item are the grouping sets of one aggregation). A judgment without a batch is left out of
-- the batch scope, one without labeled_at or failure_mode out of the cells, as the slicings' filters do.
WITH per_item AS (
    SELECT
        GROUPING(l.batch_id) AS by_cell,
        l.batch_id,
        l.failure_mode,
        DATE_TRUNC($window, CAST(l.labeled_at AS DATE)) AS window_start,
        l.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1
    FROM judgments AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
    GROUP BY GROUPING SETS (
        (l.batch_id, l.item_id),
        (l.failure_mode, DATE_TRUNC($window, CAST(l.labeled_at AS DATE)), l.item_id)
    )
)
SELECT
    by_cell,
    batch_id,
    failure_mode,
    window_start,
    m,
    k1,
    COUNT(*) AS n_items
FROM per_item
WHERE (by_cell = 0 AND batch_id IS NOT NULL)
    OR (by_cell = 1 AND failure_mode IS NOT NULL AND window_start IS NOT NULL)
GROUP BY by_cell, batch_id, failure_mode, window_start, m, k1
