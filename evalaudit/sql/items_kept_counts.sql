-- One row per item some of whose judgments are set aside because their labeler is flagged: how many labelers'
-- latest judgments it has (n_all), how many remain once the flagged ones are set aside (n_kept), the most frequent
-- remaining label (kept_label; NULL when none remains) and how many labels share its count (n_top_labels > 1 is a
-- tie). A labeler's latest judgment of an item is set aside when the view `flagged_labelers` names the labeler
-- with the judgment's failure mode, or with a NULL failure mode (all of their work), from `since` on (NULL since =
-- all of it). `flagged_labelers` holds at most one matching row per judgment (evalaudit.items dedupes it). Items
-- with nothing set aside are left out: their gold stands. Each row carries `item_row`, the item's position in the
-- view `items_rows` (item_id, item_row: the items table being re-derived). Rows come in no particular order.
WITH touched AS (
    -- items with any matching judgment: a superset of those whose *latest* judgment by the labeler matches
    SELECT DISTINCT l.item_id
    FROM judgments l
    JOIN flagged_labelers f
        ON l.labeler_id = f.labeler_id
        AND (f.failure_mode IS NULL OR f.failure_mode = l.failure_mode)
        AND (f.since IS NULL OR l.labeled_at >= f.since)
),
latest AS (
    SELECT
        item_id,
        labeler_id,
        max_by(label, COALESCE(labeled_at, CAST('1900-01-01' AS TIMESTAMP))) AS label,
        max_by(failure_mode, COALESCE(labeled_at, CAST('1900-01-01' AS TIMESTAMP))) AS failure_mode,
        MAX(labeled_at) AS labeled_at
    FROM judgments
    WHERE item_id IN (SELECT item_id FROM touched)
    GROUP BY item_id, labeler_id
),
label_rows AS (
    SELECT
        l.item_id,
        l.label,
        COUNT(*) AS n_all,
        SUM(CASE WHEN f.labeler_id IS NULL THEN 1 ELSE 0 END) AS n_kept
    FROM latest l
    LEFT JOIN flagged_labelers f
        ON l.labeler_id = f.labeler_id
        AND (f.failure_mode IS NULL OR f.failure_mode = l.failure_mode)
        AND (f.since IS NULL OR l.labeled_at >= f.since)
    GROUP BY l.item_id, l.label
),
ranked AS (
    SELECT
        item_id,
        label,
        n_all,
        n_kept,
        MAX(n_kept) OVER (PARTITION BY item_id) AS n_top
    FROM label_rows
),
per_item AS (
    SELECT
        item_id,
        SUM(n_all) AS n_all,
        SUM(n_kept) AS n_kept,
        MAX(CASE WHEN n_top > 0 AND n_kept = n_top THEN label END) AS kept_label,
        SUM(CASE WHEN n_top > 0 AND n_kept = n_top THEN 1 ELSE 0 END) AS n_top_labels
    FROM ranked
    GROUP BY item_id
)
SELECT
    p.item_id,
    r.item_row,
    CAST(p.n_all AS BIGINT) AS n_all,
    CAST(p.n_kept AS BIGINT) AS n_kept,
    p.kept_label,
    CAST(p.n_top_labels AS BIGINT) AS n_top_labels
FROM per_item p
JOIN items_rows r ON p.item_id = r.item_id
WHERE p.n_kept < p.n_all
