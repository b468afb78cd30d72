-- One row per judgment of the batch under check (view `batch`, already normalised to the labels schema): its
-- columns, plus the source file of a judgment by the same labeler on the same item already in the store
-- (`stored_file`, NULL when none) and that labeler's engagement from the labelers table (`labeler_active_from`,
-- `labeler_active_to`; NULL when unknown or, for active_to, still active).
SELECT
    b.*,
    s.stored_file,
    l.labeler_active_from,
    l.labeler_active_to
FROM batch AS b
LEFT JOIN (
    SELECT item_id, labeler_id, MIN(source_file) AS stored_file
    FROM labels
    GROUP BY item_id, labeler_id
) AS s ON b.item_id = s.item_id AND b.labeler_id = s.labeler_id
LEFT JOIN (
    SELECT
        labeler_id,
        MIN(active_from) AS labeler_active_from,
        CASE WHEN COUNT(*) > COUNT(active_to) THEN NULL ELSE MAX(active_to) END AS labeler_active_to
    FROM labelers
    GROUP BY labeler_id
) AS l ON b.labeler_id = l.labeler_id
ORDER BY b.source_row NULLS LAST
