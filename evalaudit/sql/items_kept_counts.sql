-- One row per item some of whose judgments are set aside because their labeler is flagged: how many labelers'
-- latest judgments it has (n_all), how many remain once the flagged ones are set aside (n_kept), the most frequent
-- remaining label (kept_label; NULL when none remains or when two or more labels share the top count: kept_tied =
-- 1). A labeler's latest judgment of an item is set aside when the view `flagged_labelers` names the labeler
-- with the judgment's failure mode, or with a NULL failure mode (all of their work), from `since` on (NULL since =
-- all of it). `flagged_labelers` holds at most one matching row per judgment (evalaudit.items dedupes it). Items
-- with nothing set aside are left out: their gold stands. Rows come in no particular order.
WITH touched AS (
    -- items with any matching judgment: a superset of those whose *latest* judgment by the labeler matches
    SELECT DISTINCT l.item_id
    FROM labels l
    JOIN flagged_labelers f
        ON l.labeler_id = f.labeler_id
        AND (f.failure_mode IS NULL OR f.failure_mode = l.failure_mode)
        AND (f.since IS NULL OR l.labeled_at >= f.since)
),
label_codes AS (
    -- labels and failure modes as small integers, so the aggregation below carries no strings but its keys
    SELECT label, ROW_NUMBER() OVER (ORDER BY label) AS code
    FROM (SELECT DISTINCT label FROM labels WHERE label IS NOT NULL) AS v
),
fm_codes AS (
    SELECT failure_mode, ROW_NUMBER() OVER (ORDER BY failure_mode) AS code
    FROM (SELECT DISTINCT failure_mode FROM labels) AS v
),
latest AS (
    SELECT
        l.item_id,
        l.labeler_id,
        max_by(lc.code, l.labeled_at) AS label_code,
        max_by(fc.code, l.labeled_at) AS fm_code,
        MAX(l.labeled_at) AS labeled_at
    FROM labels AS l
    LEFT JOIN label_codes AS lc ON l.label = lc.label
    LEFT JOIN fm_codes AS fc ON l.failure_mode = fc.failure_mode
    WHERE l.item_id IN (SELECT item_id FROM touched)
    GROUP BY l.item_id, l.labeler_id
),
label_rows AS (
    SELECT
        l.item_id,
        l.label_code,
        COUNT(*) AS n_all,
        SUM(CASE WHEN f.labeler_id IS NULL THEN 1 ELSE 0 END) AS n_kept
    FROM latest AS l
    LEFT JOIN fm_codes AS fc ON l.fm_code = fc.code
    LEFT JOIN flagged_labelers AS f
        ON l.labeler_id = f.labeler_id
        AND (f.failure_mode IS NULL OR f.failure_mode = fc.failure_mode)
        AND (f.since IS NULL OR l.labeled_at >= f.since)
    GROUP BY l.item_id, l.label_code
),
per_item AS (
    -- the top kept label without a window: max_by over `count * 1e9 ± code` picks the highest and the lowest code
    -- among the labels with the top count; they differ exactly when the top is tied
    SELECT
        item_id,
        SUM(n_all) AS n_all,
        SUM(n_kept) AS n_kept,
        MAX(n_kept) AS n_top,
        max_by(label_code, n_kept * 1000000000 + label_code) AS top_high,
        max_by(label_code, n_kept * 1000000000 - label_code) AS top_low
    FROM label_rows
    GROUP BY item_id
)
SELECT
    p.item_id,
    CAST(p.n_all AS BIGINT) AS n_all,
    CAST(p.n_kept AS BIGINT) AS n_kept,
    CASE WHEN p.n_top > 0 AND p.top_high = p.top_low THEN lc.label END AS kept_label,
    CAST(CASE WHEN p.n_top > 0 AND p.top_high <> p.top_low THEN 1 ELSE 0 END AS BIGINT) AS kept_tied
FROM per_item AS p
LEFT JOIN label_codes AS lc ON p.top_high = lc.code
WHERE p.n_kept < p.n_all
