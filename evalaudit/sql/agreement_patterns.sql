-- One row: within one slice of an agreement scope, one distinct per-item label-count pattern and how many items
-- show it. An item's pattern is its number of labels m and its per-label counts, packed into one key k1 with the
-- weights of view agreement_label_codes (each judgment adds its label's w1).
-- A template, filled per scope by evalaudit/agreement/patterns.py (pattern_sql) with code-owned constants, never
-- with user input. Its three placeholders (a name in braces): slice_exprs, the scope's slice expressions over
-- judgments l (the view `judgments`: one judgment per labeler and item), each aliased to its quoted output column ("slice"; "slice" and "window_start" for failure mode x
-- window); slices, those output columns; slice_filter, a non-null condition on every labels column the slice
-- reads (TRUE for the whole history).
WITH per_item AS (
    SELECT
        {slices},
        sliced.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1
    FROM (
        SELECT {slice_exprs}, l.item_id, l.label
        FROM judgments AS l
        WHERE {slice_filter}
    ) AS sliced
    JOIN agreement_label_codes AS c ON sliced.label = c.label
    GROUP BY {slices}, sliced.item_id
)
SELECT
    {slices},
    m,
    k1,
    COUNT(*) AS n_items
FROM per_item
GROUP BY {slices}, m, k1
