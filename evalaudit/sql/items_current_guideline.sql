-- One row: the guideline version of the most recent judgment that names one — the guideline in force when
-- `[gold] current_guideline` is not configured.
SELECT max_by(guideline_version, labeled_at) AS guideline_version
FROM labels
WHERE guideline_version IS NOT NULL
