-- One row per value of the slice column {column} that the items table and the production sample share: how many
-- gold items (items of the view `gold_items`) and how many production observations carry it. {column} is
-- replaced by the quoted identifier before the query runs; values are never put into the text.
WITH eval_mix AS (
    SELECT COALESCE(CAST(i.{column} AS STRING), 'unspecified') AS value, COUNT(DISTINCT i.item_id) AS n_eval
    FROM items i
    JOIN gold_items g ON i.item_id = g.item_id
    GROUP BY COALESCE(CAST(i.{column} AS STRING), 'unspecified')
),
production_mix AS (
    SELECT COALESCE(CAST({column} AS STRING), 'unspecified') AS value, COUNT(*) AS n_production
    FROM production
    GROUP BY COALESCE(CAST({column} AS STRING), 'unspecified')
)
SELECT
    COALESCE(e.value, p.value) AS value,
    COALESCE(e.n_eval, 0) AS n_eval,
    COALESCE(p.n_production, 0) AS n_production
FROM eval_mix e
FULL OUTER JOIN production_mix p ON e.value = p.value
ORDER BY value
