-- One row: the largest number of times one label value was given to one item (view `judgments`) (sizes the packed pattern keys).
SELECT
    MAX(n) AS max_count
FROM (
    SELECT item_id, label, COUNT(*) AS n
    FROM judgments
    WHERE label IS NOT NULL
    GROUP BY item_id, label
) AS per_item_label
