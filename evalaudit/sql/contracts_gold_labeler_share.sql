-- One row per failure mode × labeler: the failure mode's gold items, and the share of its gold resting on the
-- labeler — each item's weight split equally among the distinct labelers who judged it (1 / n_labelers each), so
-- the shares of a failure mode sum to 1 over its labelers.
WITH item_labelers AS (
    SELECT DISTINCT item_id, labeler_id
    FROM labels
    WHERE item_id IS NOT NULL AND labeler_id IS NOT NULL
),
per_item AS (
    SELECT item_id, MIN(failure_mode) AS failure_mode, COUNT(DISTINCT labeler_id) AS n_labelers
    FROM labels
    WHERE item_id IS NOT NULL AND labeler_id IS NOT NULL
    GROUP BY item_id
),
fm AS (
    SELECT failure_mode, COUNT(*) AS n_items
    FROM per_item
    GROUP BY failure_mode
)
SELECT
    p.failure_mode,
    il.labeler_id,
    f.n_items,
    SUM(CAST(1 AS DOUBLE) / NULLIF(p.n_labelers, 0)) / NULLIF(f.n_items, 0) AS share
FROM item_labelers AS il
JOIN per_item AS p ON il.item_id = p.item_id
JOIN fm AS f ON p.failure_mode = f.failure_mode
GROUP BY p.failure_mode, il.labeler_id, f.n_items
-- shares rounded for ordering only: equal shares summed in a different order must not swap places between engines
ORDER BY ROUND(share, 12) DESC NULLS LAST, p.failure_mode NULLS LAST, il.labeler_id NULLS LAST
