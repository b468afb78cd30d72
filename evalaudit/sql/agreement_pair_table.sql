-- One row: on the items both labeler $a and labeler $b labeled, how many got label_a from $a and label_b from $b.
SELECT
    x.label AS label_a,
    y.label AS label_b,
    COUNT(*) AS n
FROM labels AS x
JOIN labels AS y ON x.item_id = y.item_id
WHERE x.labeler_id = $a AND y.labeler_id = $b AND x.label IS NOT NULL AND y.label IS NOT NULL
GROUP BY x.label, y.label
