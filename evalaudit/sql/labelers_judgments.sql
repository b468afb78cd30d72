-- One row per judgment: who judged which item on which failure mode ('unspecified' when none), the label as given,
-- its time (NULL when the store has none), batch and duration. Labels are coded against the label space in numpy
-- (evalaudit.labelers.judgments). Read from the view `judgments` (evalaudit.pipeline.define_judgments): repeated
-- judgments of one item by one labeler are already reduced to the one that counts, by the policy every stage uses.
SELECT
    item_id,
    labeler_id,
    COALESCE(failure_mode, 'unspecified') AS failure_mode,
    label,
    labeled_at,
    batch_id,
    duration_s
FROM judgments
