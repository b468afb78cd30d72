-- One row: for one pair of labelers (labeler_a < labeler_b) sharing at least $min_items items, and one pair of
-- category codes (view agreement_label_codes), on how many of their shared items labeler_a gave code_a while
-- labeler_b gave code_b. Labels are joined to their integer codes first: grouping the 10^7-row pair relation by
-- integers instead of label strings saves about a quarter of the query's work.
WITH coded AS (
    SELECT l.item_id, l.labeler_id, c.code
    FROM labels AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
),
cells AS (
    SELECT
        x.labeler_id AS labeler_a,
        y.labeler_id AS labeler_b,
        x.code AS code_a,
        y.code AS code_b,
        COUNT(*) AS n
    FROM coded AS x
    JOIN coded AS y ON x.item_id = y.item_id AND x.labeler_id < y.labeler_id
    GROUP BY x.labeler_id, y.labeler_id, x.code, y.code
),
totals AS (
    SELECT labeler_a, labeler_b, CAST(SUM(n) AS BIGINT) AS n_items
    FROM cells
    GROUP BY labeler_a, labeler_b
)
SELECT
    c.labeler_a,
    c.labeler_b,
    c.code_a,
    c.code_b,
    c.n,
    t.n_items
FROM cells AS c
JOIN totals AS t ON c.labeler_a = t.labeler_a AND c.labeler_b = t.labeler_b
WHERE t.n_items >= $min_items
ORDER BY c.labeler_a, c.labeler_b, c.code_a, c.code_b
