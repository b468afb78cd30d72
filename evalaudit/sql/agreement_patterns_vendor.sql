-- One row: within one vendor (judgments without a vendor are left out), one distinct per-item label-count pattern
-- and how many items show it. An item's pattern is its number of labels m and its per-label counts, packed
-- into one key k1 with the weights of view agreement_label_codes (each judgment adds its label's w1).
WITH per_item AS (
    SELECT
        sliced.slice,
        sliced.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1
    FROM (
        SELECT l.vendor AS slice, l.item_id, l.label
        FROM labels AS l
        WHERE l.vendor IS NOT NULL
    ) AS sliced
    JOIN agreement_label_codes AS c ON sliced.label = c.label
    GROUP BY sliced.slice, sliced.item_id
)
SELECT
    slice,
    m,
    k1,
    COUNT(*) AS n_items
FROM per_item
GROUP BY slice, m, k1
