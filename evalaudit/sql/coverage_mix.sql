-- One row per failure mode: how many gold items
-- of the eval set and how many production observations fall in it. The eval set is the view `gold_items`
-- (item_id, failure_mode) registered by the items stage.
WITH eval_mix AS (
    SELECT failure_mode AS value, COUNT(*) AS n_eval
    FROM gold_items
    GROUP BY failure_mode
),
production_mix AS (
    SELECT COALESCE(failure_mode, 'unspecified') AS value, COUNT(*) AS n_production
    FROM production
    GROUP BY COALESCE(failure_mode, 'unspecified')
)
SELECT
    COALESCE(e.value, p.value) AS value,
    COALESCE(e.n_eval, 0) AS n_eval,
    COALESCE(p.n_production, 0) AS n_production
FROM eval_mix e
FULL OUTER JOIN production_mix p ON e.value = p.value
ORDER BY value
