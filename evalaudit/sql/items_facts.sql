-- One row per eval item (in the items table, or judged in labels): its failure mode, today's gold label and
-- honeypot answer from the items table (the latest ingested row of an item wins), how many labelers judged it and
-- how many judgments it has, when it was last judged, how many judgments were made under the current guideline
-- $current_guideline and how many name any guideline, and how many of its labelers had left by $as_of (per the
-- labelers table; a labeler it does not list counts as active). Rows come in no particular order.
WITH item_rows AS (
    SELECT
        item_id,
        max_by(failure_mode, ingested_at) AS failure_mode,
        max_by(gold_label, ingested_at) AS gold_label,
        max_by(honeypot_label, ingested_at) AS honeypot_label,
        max_by(created_at, ingested_at) AS created_at
    FROM items
    GROUP BY item_id
),
roster AS (
    SELECT labeler_id, max_by(active_to, ingested_at) AS active_to
    FROM labelers
    GROUP BY labeler_id
),
item_labelers AS (
    -- one pass over the judgments: per item and labeler, everything the per-item facts need
    SELECT
        item_id,
        labeler_id,
        max_by(failure_mode, labeled_at) AS failure_mode,
        COUNT(*) AS n_judgments,
        MAX(labeled_at) AS last_labeled_at,
        SUM(CASE WHEN guideline_version = $current_guideline THEN 1 ELSE 0 END) AS n_current_guideline,
        SUM(CASE WHEN guideline_version IS NOT NULL THEN 1 ELSE 0 END) AS n_with_guideline
    FROM labels
    GROUP BY item_id, labeler_id
),
judged AS (
    SELECT
        il.item_id,
        COUNT(*) AS n_labelers,
        SUM(CASE WHEN r.active_to IS NOT NULL AND r.active_to < $as_of THEN 1 ELSE 0 END) AS n_labelers_left,
        MIN(il.failure_mode) AS labels_failure_mode,
        SUM(il.n_judgments) AS n_judgments,
        MAX(il.last_labeled_at) AS last_labeled_at,
        SUM(il.n_current_guideline) AS n_current_guideline,
        SUM(il.n_with_guideline) AS n_with_guideline
    FROM item_labelers il
    LEFT JOIN roster r ON il.labeler_id = r.labeler_id
    GROUP BY il.item_id
)
SELECT
    COALESCE(i.item_id, j.item_id) AS item_id,
    COALESCE(i.failure_mode, j.labels_failure_mode, 'unspecified') AS failure_mode,
    i.gold_label,
    i.honeypot_label,
    i.created_at,
    CAST(COALESCE(j.n_labelers, 0) AS BIGINT) AS n_labelers,
    CAST(COALESCE(j.n_labelers_left, 0) AS BIGINT) AS n_labelers_left,
    CAST(COALESCE(j.n_judgments, 0) AS BIGINT) AS n_judgments,
    j.last_labeled_at,
    CAST(COALESCE(j.n_current_guideline, 0) AS BIGINT) AS n_current_guideline,
    CAST(COALESCE(j.n_with_guideline, 0) AS BIGINT) AS n_with_guideline
FROM item_rows i
FULL OUTER JOIN judged j ON i.item_id = j.item_id
