-- One row: one pair of labelers (labeler_a < labeler_b) sharing at least $min_items items, how many items they
-- share (n_items) and, in one count column per pair of category codes (view agreement_label_codes), on how many of
-- them labeler_a gave code_a while labeler_b gave code_b: agreement_pairs with the contingency table of a pair in
-- columns instead of rows, for small label sets. The item self-join is then grouped by the labeler pair alone (one
-- group per pair instead of one per pair and cell, and no second grouping for the pair totals), and the rows are
-- ordered by the integer labeler codes, which follow the labelers' sort order.
-- A template, filled by evalaudit/agreement/api.py (pair_sql) with code-owned text, never with user input: the
-- placeholder cell_columns is one count column per cell, named n_<code_a>_<code_b>.
WITH labeler_codes AS (
    -- labelers numbered in their sort order, so that code_x < code_y exactly when labeler_x < labeler_y (INT: the
    -- join and grouping keys are half the width of BIGINT)
    SELECT labeler_id, CAST(ROW_NUMBER() OVER (ORDER BY labeler_id) AS INT) AS labeler_code
    FROM (SELECT DISTINCT labeler_id FROM judgments WHERE labeler_id IS NOT NULL) AS v
),
coded AS (
    SELECT l.item_id, lc.labeler_code, c.code
    FROM judgments AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
    JOIN labeler_codes AS lc ON l.labeler_id = lc.labeler_id
),
pairs AS (
    SELECT
        x.labeler_code AS code_labeler_a,
        y.labeler_code AS code_labeler_b,
        COUNT(*) AS n_items,
        {cell_columns}
    FROM coded AS x
    JOIN coded AS y ON x.item_id = y.item_id AND x.labeler_code < y.labeler_code
    GROUP BY x.labeler_code, y.labeler_code
)
SELECT
    la.labeler_id AS labeler_a,
    lb.labeler_id AS labeler_b,
    p.*
FROM pairs AS p
JOIN labeler_codes AS la ON p.code_labeler_a = la.labeler_code
JOIN labeler_codes AS lb ON p.code_labeler_b = lb.labeler_code
WHERE p.n_items >= $min_items
ORDER BY p.code_labeler_a, p.code_labeler_b
