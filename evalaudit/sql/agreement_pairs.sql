-- One row: for one pair of labelers (labeler_a < labeler_b) sharing at least $min_items items, and one pair of
-- labels, on how many of their shared items labeler_a gave label_a while labeler_b gave label_b.
WITH cells AS (
    SELECT
        x.labeler_id AS labeler_a,
        y.labeler_id AS labeler_b,
        x.label AS label_a,
        y.label AS label_b,
        COUNT(*) AS n
    FROM labels AS x
    JOIN labels AS y ON x.item_id = y.item_id AND x.labeler_id < y.labeler_id
    WHERE x.label IS NOT NULL AND y.label IS NOT NULL
    GROUP BY x.labeler_id, y.labeler_id, x.label, y.label
),
totals AS (
    SELECT labeler_a, labeler_b, CAST(SUM(n) AS BIGINT) AS n_items
    FROM cells
    GROUP BY labeler_a, labeler_b
)
SELECT
    c.labeler_a,
    c.labeler_b,
    c.label_a,
    c.label_b,
    c.n,
    t.n_items
FROM cells AS c
JOIN totals AS t ON c.labeler_a = t.labeler_a AND c.labeler_b = t.labeler_b
WHERE t.n_items >= $min_items
ORDER BY c.labeler_a, c.labeler_b, c.label_a, c.label_b
