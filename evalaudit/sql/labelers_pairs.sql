-- One row per pair of labelers (labeler_a < labeler_b) × failure mode with at least $min_pair_items shared items:
-- how many items both judged, on how many they disagreed (positive vs not positive), and each one's Dawid–Skene
-- sensitivity and specificity on that failure mode with the failure mode's class prior (view labelers_ds_workers).
WITH pairs AS (
    SELECT
        a.labeler_id AS labeler_a,
        b.labeler_id AS labeler_b,
        a.failure_mode,
        COUNT(*) AS n,
        SUM(CASE WHEN a.is_positive <> b.is_positive THEN 1 ELSE 0 END) AS n_disagree
    FROM labelers_judgments AS a
    JOIN labelers_judgments AS b
        ON a.item_id = b.item_id AND a.failure_mode = b.failure_mode AND a.labeler_id < b.labeler_id
    GROUP BY a.labeler_id, b.labeler_id, a.failure_mode
    HAVING COUNT(*) >= $min_pair_items
)
SELECT
    p.labeler_a,
    p.labeler_b,
    p.failure_mode,
    p.n,
    p.n_disagree,
    wa.sensitivity AS sens_a,
    wa.specificity AS spec_a,
    wb.sensitivity AS sens_b,
    wb.specificity AS spec_b,
    wa.prior
FROM pairs AS p
JOIN labelers_ds_workers AS wa ON p.labeler_a = wa.labeler_id AND p.failure_mode = wa.failure_mode
JOIN labelers_ds_workers AS wb ON p.labeler_b = wb.labeler_id AND p.failure_mode = wb.failure_mode
