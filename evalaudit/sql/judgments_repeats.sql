-- One row: how many label rows the store holds (n_rows), how many distinct labeler x item judgments they make
-- (n_judgments: the rows the view `judgments` keeps; fewer than n_rows when a labeler judged an item more than
-- once) and how many rows have no labeled_at (n_untimed). Repeats are counted only among the rows whose key hash
-- occurs more than once (`judgments_key_hashes`; the view `judgments_key_candidates` lists those hashes, usually
-- none): a grouping over every labeler x item pair of the store is what this spares.
WITH candidates AS (
    SELECT
        item_id,
        labeler_id,
        COUNT(*) AS n
    FROM labels
    WHERE hash(item_id, labeler_id) IN (SELECT key_hash FROM judgments_key_candidates)
    GROUP BY item_id, labeler_id
),
repeated AS (
    SELECT CAST(COALESCE(SUM(n - 1), 0) AS BIGINT) AS n_repeated
    FROM candidates
),
totals AS (
    SELECT
        COUNT(*) AS n_rows,
        CAST(COALESCE(SUM(CASE WHEN labeled_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS n_untimed
    FROM labels
)
SELECT
    t.n_rows,
    t.n_rows - r.n_repeated AS n_judgments,
    t.n_untimed
FROM totals AS t
CROSS JOIN repeated AS r
