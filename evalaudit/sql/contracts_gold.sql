-- One row per failure mode × labeler of the gold set (the distinct items with judgments):
--   * failure_mode, labeler_id, n_items (the failure mode's gold items; an item's failure mode is the smallest its
--     judgments name), share: the share of the failure mode's gold resting on the labeler — each item's weight
--     split equally among the distinct labelers who judged it (1 / n_labelers each), so a failure mode's shares
--     sum to 1 over its labelers (items whose judgments name no failure mode have no share);
--   * the same three whole-gold-set counts on every row (one row with NULL shares when no failure mode has any):
--     total_items, n_stale — no judgment under the current guideline ($check_guideline = 1, $current_guideline) or
--     the latest judgment older than $cutoff — and n_single_labeled, items a single labeler judged.
WITH labeler_codes AS (
    -- labelers as small integers: the distinct (item, labeler) pairs below then carry one string, not two
    SELECT labeler_id, ROW_NUMBER() OVER (ORDER BY labeler_id) AS code
    FROM (SELECT DISTINCT labeler_id FROM labels WHERE labeler_id IS NOT NULL) AS v
),
item_labelers AS (
    -- the distinct (item, labeler) pairs: keys only, the lightest pass that can count labelers per item
    SELECT DISTINCT l.item_id, c.code AS labeler_code
    FROM labels AS l
    JOIN labeler_codes AS c ON l.labeler_id = c.labeler_id
    WHERE l.item_id IS NOT NULL
),
labelers_per_item AS (
    SELECT item_id, COUNT(*) AS n_labelers
    FROM item_labelers
    GROUP BY item_id
),
item_facts AS (
    SELECT
        item_id,
        MIN(failure_mode) AS failure_mode,
        SUM(CASE WHEN guideline_version = $current_guideline THEN 1 ELSE 0 END) AS n_current,
        MAX(labeled_at) AS last_labeled_at
    FROM labels
    WHERE item_id IS NOT NULL AND labeler_id IS NOT NULL
    GROUP BY item_id
),
per_item AS (
    SELECT f.item_id, f.failure_mode, n.n_labelers, f.n_current, f.last_labeled_at
    FROM item_facts AS f
    JOIN labelers_per_item AS n ON f.item_id = n.item_id
),
totals AS (
    SELECT
        CAST(COUNT(*) AS BIGINT) AS total_items,
        CAST(SUM(CASE WHEN ($check_guideline = 1 AND n_current = 0) OR last_labeled_at < $cutoff THEN 1 ELSE 0 END)
            AS BIGINT) AS n_stale,
        CAST(SUM(CASE WHEN n_labelers = 1 THEN 1 ELSE 0 END) AS BIGINT) AS n_single_labeled
    FROM per_item
),
fm AS (
    SELECT failure_mode, COUNT(*) AS n_items
    FROM per_item
    GROUP BY failure_mode
),
shares AS (
    SELECT
        p.failure_mode,
        c.labeler_id,
        f.n_items,
        SUM(CAST(1 AS DOUBLE) / NULLIF(p.n_labelers, 0)) / NULLIF(f.n_items, 0) AS share
    FROM item_labelers AS il
    JOIN per_item AS p ON il.item_id = p.item_id
    JOIN fm AS f ON p.failure_mode = f.failure_mode
    JOIN labeler_codes AS c ON il.labeler_code = c.code
    GROUP BY p.failure_mode, c.labeler_id, f.n_items
)
SELECT
    s.failure_mode,
    s.labeler_id,
    s.n_items,
    s.share,
    t.total_items,
    t.n_stale,
    t.n_single_labeled
FROM totals AS t
LEFT JOIN shares AS s ON 1 = 1
-- shares rounded for ordering only: equal shares summed in a different order must not swap places between engines
ORDER BY ROUND(s.share, 12) DESC NULLS LAST, s.failure_mode NULLS LAST, s.labeler_id NULLS LAST
