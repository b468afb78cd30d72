-- One row: for one pair of labelers (labeler_a < labeler_b) sharing at least $min_items items, and one pair of
-- category codes (view agreement_label_codes), on how many of their shared items labeler_a gave code_a while
-- labeler_b gave code_b. Labels and labelers are joined to integer codes first: grouping the 10^7-row pair
-- relation by integers instead of strings saves a good part of the query's work.
WITH labeler_codes AS (
    -- labelers numbered in their sort order, so that code_x < code_y exactly when labeler_x < labeler_y
    SELECT labeler_id, ROW_NUMBER() OVER (ORDER BY labeler_id) AS labeler_code
    FROM (SELECT DISTINCT labeler_id FROM judgments WHERE labeler_id IS NOT NULL) AS v
),
coded AS (
    SELECT l.item_id, lc.labeler_code, c.code
    FROM judgments AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
    JOIN labeler_codes AS lc ON l.labeler_id = lc.labeler_id
),
cells AS (
    SELECT
        x.labeler_code AS code_labeler_a,
        y.labeler_code AS code_labeler_b,
        x.code AS code_a,
        y.code AS code_b,
        COUNT(*) AS n
    FROM coded AS x
    JOIN coded AS y ON x.item_id = y.item_id AND x.labeler_code < y.labeler_code
    GROUP BY x.labeler_code, y.labeler_code, x.code, y.code
),
totals AS (
    SELECT code_labeler_a, code_labeler_b, CAST(SUM(n) AS BIGINT) AS n_items
    FROM cells
    GROUP BY code_labeler_a, code_labeler_b
)
SELECT
    la.labeler_id AS labeler_a,
    lb.labeler_id AS labeler_b,
    c.code_a,
    c.code_b,
    c.n,
    t.n_items
FROM cells AS c
JOIN totals AS t ON c.code_labeler_a = t.code_labeler_a AND c.code_labeler_b = t.code_labeler_b
JOIN labeler_codes AS la ON c.code_labeler_a = la.labeler_code
JOIN labeler_codes AS lb ON c.code_labeler_b = lb.labeler_code
WHERE t.n_items >= $min_items
ORDER BY la.labeler_id, lb.labeler_id, c.code_a, c.code_b
