-- One row: within one slice of an agreement scope, one distinct per-item label-count pattern and how many items
-- show it. An item's pattern is its number of labels m and its per-label counts, packed into four keys k1..k4 with
-- the weights of view agreement_label_codes (each judgment adds its label's w1..w4): the variant of
-- agreement_patterns for label sets too wide for its one key, a template filled the same way (see there).
WITH per_item AS (
    SELECT
        {slices},
        sliced.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1,
        CAST(SUM(c.w2) AS BIGINT) AS k2,
        CAST(SUM(c.w3) AS BIGINT) AS k3,
        CAST(SUM(c.w4) AS BIGINT) AS k4
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
    k2,
    k3,
    k4,
    COUNT(*) AS n_items
FROM per_item
GROUP BY {slices}, m, k1, k2, k3, k4
