-- One row per judgment that counts, for label tables without provenance columns (built in memory): as
-- judgments.sql, each labeler's latest judgment of each item by labeled_at, a judgment without labeled_at losing
-- to any with one; ties are broken by the label (the rows carry nothing that says which was stored last).
SELECT ranked.*
FROM (
    SELECT
        l.*,
        ROW_NUMBER() OVER (
            PARTITION BY l.item_id, l.labeler_id
            ORDER BY l.labeled_at DESC NULLS LAST, l.label DESC NULLS LAST
        ) AS judgment_rank
    FROM labels AS l
) AS ranked
WHERE ranked.judgment_rank = 1
