-- One row per distinct label in the store or the batch, with its judgments in both: the label space the batch is
-- judged in (a first batch defines it alone).
SELECT label, COUNT(*) AS n_labels
FROM (
    SELECT label FROM labels WHERE label IS NOT NULL
    UNION ALL
    SELECT label FROM batch WHERE label IS NOT NULL
) AS both_sides
GROUP BY label
ORDER BY label NULLS LAST
