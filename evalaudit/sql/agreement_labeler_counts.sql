-- One row: how many judgments one labeler gave one label value (the rater marginals of Conger's kappa).
SELECT
    labeler_id,
    label,
    COUNT(*) AS n
FROM labels
WHERE label IS NOT NULL
GROUP BY labeler_id, label
