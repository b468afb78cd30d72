-- One row: for one pair of labelers (labeler_a < labeler_b) sharing at least $min_items items (n_items), the
-- counts of their contingency table over category codes (view agreement_label_codes): on how many of their shared
-- items labeler_a gave code_a while labeler_b gave code_b. Labels and labelers are joined to integer codes first:
-- grouping the 10^7-row pair relation by integers instead of strings saves a good part of the query's work.
-- A template, filled by evalaudit/agreement/api.py (pair_sql) with code-owned text, never with user input, in one of
-- two forms with the same cells in the same order (by labeler pair, then code_a, then code_b):
--   * a row per pair and nonzero cell (any label set): cell_keys and cell_group add the columns code_a and code_b
--     to the pair's grouping and cell_order to the order; cell_columns is empty;
--   * a row per pair (small label sets): cell_columns is one count column n_<code_a>_<code_b> per cell, the others
--     are empty, so the self-join is grouped by the labeler pair alone (one group per pair instead of one per pair
--     and cell).
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
cells AS (
    SELECT
        x.labeler_code AS code_labeler_a,
        y.labeler_code AS code_labeler_b,
        COUNT(*) AS n{cell_columns}{cell_keys}
    FROM coded AS x
    JOIN coded AS y ON x.item_id = y.item_id AND x.labeler_code < y.labeler_code
    GROUP BY x.labeler_code, y.labeler_code{cell_group}
),
totals AS (
    SELECT code_labeler_a, code_labeler_b, CAST(SUM(n) AS BIGINT) AS n_items
    FROM cells
    GROUP BY code_labeler_a, code_labeler_b
)
SELECT
    la.labeler_id AS labeler_a,
    lb.labeler_id AS labeler_b,
    c.*,
    t.n_items
FROM cells AS c
JOIN totals AS t ON c.code_labeler_a = t.code_labeler_a AND c.code_labeler_b = t.code_labeler_b
JOIN labeler_codes AS la ON c.code_labeler_a = la.labeler_code
JOIN labeler_codes AS lb ON c.code_labeler_b = lb.labeler_code
WHERE t.n_items >= $min_items
ORDER BY c.code_labeler_a, c.code_labeler_b{cell_order}
