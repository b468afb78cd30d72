-- One row per judgment of a model judge (a labeler whose labelers.kind is 'model') on an item that at least one
-- person (any other labeler) also judged: the judge's label beside the people's majority label, which is NULL when
-- the people's most frequent labels tie. Read from the view `judgments` (one judgment per labeler and item).
WITH models AS (
    SELECT DISTINCT labeler_id
    FROM labelers
    WHERE kind = 'model'
),
human_counts AS (
    SELECT j.item_id, j.label, COUNT(*) AS n
    FROM judgments AS j
    LEFT JOIN models AS m ON m.labeler_id = j.labeler_id
    WHERE m.labeler_id IS NULL
    GROUP BY j.item_id, j.label
),
human_top AS (
    SELECT item_id, MAX(n) AS top_n, SUM(n) AS n_people
    FROM human_counts
    GROUP BY item_id
),
consensus AS (
    SELECT h.item_id, MIN(h.label) AS label, COUNT(*) AS n_top, MAX(t.n_people) AS n_people
    FROM human_counts AS h
    JOIN human_top AS t ON t.item_id = h.item_id AND h.n = t.top_n
    GROUP BY h.item_id
)
SELECT
    j.labeler_id AS judge_id,
    j.item_id,
    COALESCE(j.failure_mode, 'unspecified') AS failure_mode,
    j.label AS judge_label,
    CASE WHEN c.n_top = 1 THEN c.label END AS human_label,
    CAST(c.n_people AS BIGINT) AS n_people,
    j.labeled_at
FROM judgments AS j
JOIN models AS m ON m.labeler_id = j.labeler_id
JOIN consensus AS c ON c.item_id = j.item_id
