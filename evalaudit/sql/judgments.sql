-- One row per judgment that counts: each labeler's one judgment of each item (the view `judgments` every stage
-- reads; `labels` keeps the raw rows). Repeated judgments of an item by one labeler are reduced to one: the
-- latest labeled_at wins; a judgment without labeled_at loses to any with one; among judgments that tie (or all
-- lack labeled_at) the last stored wins: latest ingested_at, then the larger source_file name, then the larger
-- source_row. Every column of `labels` is kept.
SELECT ranked.*
FROM (
    SELECT
        l.*,
        ROW_NUMBER() OVER (
            PARTITION BY l.item_id, l.labeler_id
            ORDER BY
                l.labeled_at DESC NULLS LAST,
                l.ingested_at DESC NULLS LAST,
                l.source_file DESC NULLS LAST,
                l.source_row DESC NULLS LAST
        ) AS judgment_rank
    FROM labels AS l
) AS ranked
WHERE ranked.judgment_rank = 1
