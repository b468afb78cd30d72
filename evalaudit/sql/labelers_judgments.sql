-- One row per judgment: who judged which item on which failure mode ('unspecified' when none), coded 1 when the
-- label is the positive label $positive and 0 otherwise, with its time, batch and duration. Repeated judgments of
-- one item by one labeler are resolved afterwards (the latest wins; evalaudit.labelers.judgments).
SELECT
    item_id,
    labeler_id,
    COALESCE(failure_mode, 'unspecified') AS failure_mode,
    CASE WHEN label = $positive THEN 1 ELSE 0 END AS is_positive,
    labeled_at,
    batch_id,
    duration_s
FROM labels
