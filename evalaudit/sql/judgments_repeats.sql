-- One row: how many label rows the store holds (n_rows), how many distinct labeler x item judgments they make
-- (n_judgments: the rows the view `judgments` keeps; fewer than n_rows when a labeler judged an item more than
-- once) and how many rows have no labeled_at (n_untimed).
WITH per_pair AS (
    SELECT
        item_id,
        labeler_id,
        COUNT(*) AS n,
        SUM(CASE WHEN labeled_at IS NULL THEN 1 ELSE 0 END) AS n_untimed
    FROM labels
    GROUP BY item_id, labeler_id
)
SELECT
    CAST(SUM(n) AS BIGINT) AS n_rows,
    COUNT(*) AS n_judgments,
    CAST(SUM(n_untimed) AS BIGINT) AS n_untimed
FROM per_pair
