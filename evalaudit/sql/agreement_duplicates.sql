-- One row: how many (item, labeler) pairs carry more than one judgment among labelers $a and $b.
SELECT
    COUNT(*) AS n_duplicated
FROM (
    SELECT item_id, labeler_id
    FROM labels
    WHERE labeler_id = $a OR labeler_id = $b
    GROUP BY item_id, labeler_id
    HAVING COUNT(*) > 1
) AS dup
