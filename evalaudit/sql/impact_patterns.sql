-- One row per model version × failure mode × correctness pattern: how many gold items (view `gold_items`) the
-- version answered (view `impact_answers`: the named query of that name) such that its answer matches today's gold
-- (correct_current 1/0) and the audited gold (correct_audited 1/0; NULL when the item has no audited gold and is
-- excluded).
SELECT
    a.model_version,
    g.failure_mode,
    CASE WHEN a.prediction = g.gold_label THEN 1 ELSE 0 END AS correct_current,
    CASE WHEN g.audited_label IS NULL THEN NULL WHEN a.prediction = g.audited_label THEN 1 ELSE 0 END
        AS correct_audited,
    COUNT(*) AS n
FROM impact_answers a
JOIN gold_items g ON a.item_id = g.item_id
GROUP BY
    a.model_version,
    g.failure_mode,
    CASE WHEN a.prediction = g.gold_label THEN 1 ELSE 0 END,
    CASE WHEN g.audited_label IS NULL THEN NULL WHEN a.prediction = g.audited_label THEN 1 ELSE 0 END
ORDER BY a.model_version, g.failure_mode
