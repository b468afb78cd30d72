-- One row per item × label: how many of the item's labelers' latest judgments give that label (n_all), and how
-- many of those remain once the judgments of flagged labelers are set aside (n_kept). A judgment is set aside when
-- the view `flagged_labelers` names its labeler with its failure mode, or with a NULL failure mode (all of the
-- labeler's work), from `since` on (NULL since = all of it). `flagged_labelers` holds at most one matching row per
-- judgment (evalaudit.items dedupes it). Rows come in no particular order.
WITH latest AS (
    SELECT
        item_id,
        labeler_id,
        max_by(label, labeled_at) AS label,
        max_by(failure_mode, labeled_at) AS failure_mode,
        MAX(labeled_at) AS labeled_at
    FROM labels
    GROUP BY item_id, labeler_id
)
SELECT
    l.item_id,
    l.label,
    COUNT(*) AS n_all,
    CAST(SUM(CASE WHEN f.labeler_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS n_kept
FROM latest l
LEFT JOIN flagged_labelers f
    ON l.labeler_id = f.labeler_id
    AND (f.failure_mode IS NULL OR f.failure_mode = l.failure_mode)
    AND (f.since IS NULL OR l.labeled_at >= f.since)
GROUP BY l.item_id, l.label
