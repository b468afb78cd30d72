-- One row: one distinct per-item label-count pattern (m and the packed key k1, as in agreement_patterns, over the
-- view `judgments` joined to agreement_label_codes) in one part of a single pass over the judgments grouped by item,
-- and how many items show it: the `overall`, `failure_mode` and (for a few vendors) `vendor` scopes from one scan.
--   * part 0, the whole history: failure_mode is the failure mode the pattern's items belong to. An item belongs to
--     a failure mode when every one of its judgments names that one; failure_mode is NULL for an item whose
--     judgments name several or not all name one, and the failure_mode scope then needs its own query
--     (agreement_patterns). The overall patterns are these rows summed over failure_mode.
--   * part i >= 1, the judgments of the i-th vendor (bound as $vendor_i): each item's count vector over its
--     judgments from that vendor (items with none are left out), exactly the vendor scope's slice of that vendor;
--     failure_mode is NULL. Per item, one count and one key column per vendor: an aggregation over items (one group
--     per item) instead of one over vendor x item (about one group per judgment), which costs most of a scan.
-- A template, filled by evalaudit/agreement/patterns.py (per_item_scopes_sql) with code-owned text, never with user
-- input: vendor_columns (per vendor, the columns m_i and k_i, each with a leading comma; empty without vendors),
-- parts (one SELECT of a part number per part, joined by UNION ALL), part_m and part_k (a CASE picking the part's
-- count and key columns).
WITH per_item AS (
    SELECT
        l.item_id,
        COUNT(*) AS m,
        CAST(SUM(c.w1) AS BIGINT) AS k1,
        MIN(l.failure_mode) AS fm_low,
        MAX(l.failure_mode) AS fm_high,
        COUNT(l.failure_mode) AS n_with_failure_mode{vendor_columns}
    FROM judgments AS l
    JOIN agreement_label_codes AS c ON l.label = c.label
    GROUP BY l.item_id
),
parts AS (
    {parts}
),
placed AS (
    SELECT
        p.part,
        CASE WHEN p.part = 0 AND i.fm_low = i.fm_high AND i.n_with_failure_mode = i.m THEN i.fm_low END
            AS failure_mode,
        {part_m} AS m,
        {part_k} AS k1
    FROM per_item AS i
    CROSS JOIN parts AS p
)
SELECT
    part,
    failure_mode,
    m,
    k1,
    COUNT(*) AS n_items
FROM placed
WHERE m > 0
GROUP BY part, failure_mode, m, k1
