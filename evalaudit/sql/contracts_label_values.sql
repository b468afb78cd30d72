-- One row per distinct label in the store or the batch, with its judgments in both (n_labels) and in the store
-- alone (n_stored): the label space the batch is judged in (a first batch defines it alone), and the labels already
-- stored, which are the allowed labels when [labels] values is empty.
SELECT
    label,
    COUNT(*) AS n_labels,
    SUM(stored) AS n_stored
FROM (
    SELECT label, 1 AS stored FROM labels WHERE label IS NOT NULL
    UNION ALL
    SELECT label, 0 AS stored FROM batch WHERE label IS NOT NULL
) AS both_sides
GROUP BY label
ORDER BY label NULLS LAST
