-- One row per model version × failure mode × correctness pattern: how many gold items (view `gold_items`) the
-- version answered (view `impact_answers`: the named query of that name) such that its answer matches today's gold
-- (correct_current 1/0) and the audited gold (correct_audited 1/0; NULL when the item has no audited gold and is
-- excluded). An answer matches when it is the same label; with $numeric = 1 (interval/ratio labels) also when both
-- are the same number ("-0", "0" and "00" are one value).
WITH matched AS (
    SELECT
        a.model_version,
        g.failure_mode,
        CASE
            WHEN a.prediction = g.gold_label THEN 1
            WHEN $numeric = 1 AND TRY_CAST(a.prediction AS DOUBLE) = TRY_CAST(g.gold_label AS DOUBLE) THEN 1
            ELSE 0
        END AS correct_current,
        CASE
            WHEN g.audited_label IS NULL THEN NULL
            WHEN a.prediction = g.audited_label THEN 1
            WHEN $numeric = 1 AND TRY_CAST(a.prediction AS DOUBLE) = TRY_CAST(g.audited_label AS DOUBLE) THEN 1
            ELSE 0
        END AS correct_audited
    FROM impact_answers a
    JOIN gold_items g ON a.item_id = g.item_id
)
SELECT model_version, failure_mode, correct_current, correct_audited, COUNT(*) AS n
FROM matched
GROUP BY model_version, failure_mode, correct_current, correct_audited
ORDER BY model_version, failure_mode
