-- One row per labeler × failure mode: on honeypot (control) items, the labeler's judgment against the known answer:
-- n honeypots judged, own positives, truly positive honeypots, false passes b (labeler positive, answer not) and
-- false fails c (labeler not positive, answer positive).
SELECT
    j.labeler_id,
    j.failure_mode,
    COUNT(*) AS n,
    SUM(j.is_positive) AS n_own_pos,
    SUM(h.honeypot_positive) AS n_peer_pos,
    SUM(CASE WHEN j.is_positive = 1 AND h.honeypot_positive = 0 THEN 1 ELSE 0 END) AS b,
    SUM(CASE WHEN j.is_positive = 0 AND h.honeypot_positive = 1 THEN 1 ELSE 0 END) AS c,
    SUM(CASE WHEN h.honeypot_positive = 0 THEN 1 ELSE 0 END) AS n_truth_neg,
    SUM(CASE WHEN h.honeypot_positive = 1 THEN 1 ELSE 0 END) AS n_truth_pos
FROM labelers_judgments AS j
JOIN labelers_items AS h ON j.item_id = h.item_id
WHERE h.honeypot_positive IS NOT NULL
GROUP BY j.labeler_id, j.failure_mode
