-- One row: within one slice of an agreement scope, one item and one category code (view agreement_label_codes) and
-- how many of the item's judgments in the slice carry it: the unpacked twin of agreement_patterns for label sets
-- with many distinct values (no packed key, so no limit on their number). A template filled the same way (see
-- agreement_patterns: slice_exprs, slices, slice_filter).
SELECT
    {slices},
    sliced.item_id,
    c.code,
    COUNT(*) AS n
FROM (
    SELECT {slice_exprs}, l.item_id, l.label
    FROM judgments AS l
    WHERE {slice_filter}
) AS sliced
JOIN agreement_label_codes AS c ON sliced.label = c.label
GROUP BY {slices}, sliced.item_id, c.code
