-- One row per failure mode: its most frequent label other than the positive label $positive — the label a consensus
-- of "not positive" is written as (ties between equally frequent labels: either).
WITH counts AS (
    SELECT COALESCE(failure_mode, 'unspecified') AS failure_mode, label, COUNT(*) AS n
    FROM labels
    WHERE label <> $positive
    GROUP BY COALESCE(failure_mode, 'unspecified'), label
)
SELECT failure_mode, max_by(label, n) AS label
FROM counts
GROUP BY failure_mode
