-- One row: a label value used in the labeling history and how many judgments gave it.
SELECT
    label,
    COUNT(*) AS n_labels
FROM labels
WHERE label IS NOT NULL
GROUP BY label
ORDER BY label
