-- One row per eval item (in the items table, or judged in labels), in item_id order: everything the items stage needs
-- to know about it. Only the items of one part of the item_id range: from $part_lo (unless $part_first = 1) up to,
-- not including, $part_hi (unless $part_last = 1) - one part with both flags set is every item; the items stage
-- asks for a large store's items a part at a time, so that this query's aggregation never holds all of them.
-- A template, filled by evalaudit.items.facts_sql with code-owned expressions (never user input): the placeholder
-- judged names the CTE that aggregates per item - judged_by_label, two aggregations (item x label, then item) for
-- any label space, or judged_by_count_columns, one aggregation with a count column per label code (placeholder
-- count_columns) and the top-count expressions over them, for small label spaces without null labels; both give
-- the same columns and values.
--   * from the items table, through the view `item_answers` (the latest ingested row of an item wins): failure
--     mode, today's gold label, honeypot answer;
--   * over each labeler's latest judgment of the item: how many labelers judged it (n_labelers), how many of them
--     had left by $as_of (labelers table `active_to`; a labeler it does not list counts as active), the most
--     frequent label (majority_label; NULL when two or more labels share the top count: majority_tied = 1), its
--     count (n_top), and how many give the items table's gold (else honeypot) label (n_agree_listed);
--   * over all its judgments, repeats included: how many (n_judgments), when the last was made, how many were made
--     under the current guideline $current_guideline and how many name any guideline;
--   * once the judgments of flagged labelers are set aside (the rule of `items_kept_counts`, which computes the
--     same for the items a flagged labeler touched): how many latest judgments remain (n_kept), the most frequent
--     remaining label (kept_label; NULL when none remains or when tied: kept_tied = 1);
--   * the consensus of the labelers stage for the item under its failure mode, from the view `items_consensus`
--     (item_id, failure_mode, posterior_positive, consensus_label, posterior_consensus, posterior_listed, method;
--     a NULL failure_mode there matches any): the Dawid–Skene posterior of the positive label, the consensus label
--     with its posterior, the posterior of the items table's gold label, and how the consensus was reached.
WITH item_rows AS (
    SELECT item_id, failure_mode, gold_label, honeypot_label
    FROM item_answers
    WHERE ($part_first = 1 OR item_id >= $part_lo) AND ($part_last = 1 OR item_id < $part_hi)
),
roster AS (
    SELECT labeler_id, max_by(active_to, ingested_at) AS active_to
    FROM labelers
    GROUP BY labeler_id
),
part_consensus AS (
    SELECT *
    FROM items_consensus
    WHERE ($part_first = 1 OR item_id >= $part_lo) AND ($part_last = 1 OR item_id < $part_hi)
),
label_codes AS (
    -- labels as small integers, so that the aggregations over every judgment below carry no label strings: the
    -- view `items_label_codes` (label, code: 1, 2, ... in label order, one row per label value of `labels`), a
    -- table of known size, so the planner builds each join's hash table on it and not on the judgments
    SELECT label, code
    FROM items_label_codes
),
item_counts AS (
    -- what needs no de-duplication, per item over all its judgments, when the store holds repeated judgments
    -- ($repeats = 1); without them every row counts, and the same sums come from the judgments below (no second
    -- pass over the labels)
    SELECT
        item_id,
        COUNT(*) AS n_judgments,
        MAX(labeled_at) AS last_labeled_at,
        SUM(CASE WHEN guideline_version = $current_guideline THEN 1 ELSE 0 END) AS n_current_guideline,
        SUM(CASE WHEN guideline_version IS NOT NULL THEN 1 ELSE 0 END) AS n_with_guideline
    FROM labels
    WHERE $repeats = 1
        AND ($part_first = 1 OR item_id >= $part_lo) AND ($part_last = 1 OR item_id < $part_hi)
    GROUP BY item_id
),
marked AS (
    -- each judgment that counts (the view `judgments` holds one per labeler and item: no aggregation needed), its
    -- label as a small integer code, marked kept (1) unless `flagged_labelers` sets it aside
    SELECT
        l.item_id,
        l.labeler_id,
        lc.code AS label_code,
        l.failure_mode,
        l.labeled_at,
        CASE WHEN l.guideline_version = $current_guideline THEN 1 ELSE 0 END AS in_current_guideline,
        CASE WHEN l.guideline_version IS NOT NULL THEN 1 ELSE 0 END AS with_guideline,
        CASE WHEN f.labeler_id IS NULL THEN 1 ELSE 0 END AS kept
    FROM judgments AS l
    LEFT JOIN label_codes AS lc ON l.label = lc.label
    LEFT JOIN flagged_labelers AS f
        ON l.labeler_id = f.labeler_id
        AND (f.failure_mode IS NULL OR f.failure_mode = l.failure_mode)
        AND (f.since IS NULL OR l.labeled_at >= f.since)
    WHERE ($part_first = 1 OR l.item_id >= $part_lo) AND ($part_last = 1 OR l.item_id < $part_hi)
),
label_rows AS (
    -- per item and latest label: how many labelers gave it (all, kept), and the per-item sums split by label. The
    -- one-aggregation form groups by item alone (its label_code is NULL) and carries a count column per label code
    -- instead (placeholder count_columns: all judgments, kept ones)
    SELECT
        m.item_id,
        {label_code} AS label_code,
        COUNT(*) AS n,
        SUM(m.kept) AS n_kept,
        SUM(CASE WHEN r.active_to IS NOT NULL AND r.active_to < $as_of THEN 1 ELSE 0 END) AS n_labelers_left,
        MIN(m.failure_mode) AS failure_mode,
        MAX(m.labeled_at) AS last_labeled_at,
        SUM(m.in_current_guideline) AS n_current_guideline,
        SUM(m.with_guideline) AS n_with_guideline,
        {count_columns}
    FROM marked AS m
    LEFT JOIN roster AS r ON m.labeler_id = r.labeler_id
    GROUP BY m.item_id, {label_code}
),
listed AS (
    SELECT i.item_id, lc.code AS listed_code
    FROM item_rows AS i
    JOIN label_codes AS lc ON lc.label = COALESCE(i.gold_label, i.honeypot_label)
),
judged_by_label AS (
    -- the top label without a window: among the labels with the top count, max_by picks the highest code with
    -- `count * 1e9 + code` and the lowest with `count * 1e9 - code`; they differ exactly when the top is tied
    SELECT
        lr.item_id,
        SUM(lr.n) AS n_labelers,
        SUM(lr.n_labelers_left) AS n_labelers_left,
        MIN(lr.failure_mode) AS labels_failure_mode,
        MAX(lr.last_labeled_at) AS last_labeled_at,
        SUM(lr.n_current_guideline) AS n_current_guideline,
        SUM(lr.n_with_guideline) AS n_with_guideline,
        MAX(lr.n) AS n_top,
        max_by(lr.label_code, lr.n * 1000000000 + lr.label_code) AS top_high,
        max_by(lr.label_code, lr.n * 1000000000 - lr.label_code) AS top_low,
        SUM(CASE WHEN lr.label_code = li.listed_code THEN lr.n ELSE 0 END) AS n_agree_listed,
        SUM(lr.n_kept) AS n_kept,
        MAX(lr.n_kept) AS n_top_kept,
        max_by(lr.label_code, lr.n_kept * 1000000000 + lr.label_code) AS kept_high,
        max_by(lr.label_code, lr.n_kept * 1000000000 - lr.label_code) AS kept_low
    FROM label_rows AS lr
    LEFT JOIN listed AS li ON lr.item_id = li.item_id
    GROUP BY lr.item_id
),
item_label_tops AS (
    SELECT
        c.*,
        li.listed_code,
        {n_top} AS n_top,
        {n_top_kept} AS n_top_kept
    FROM label_rows AS c
    LEFT JOIN listed AS li ON c.item_id = li.item_id
),
judged_by_count_columns AS (
    -- the columns of judged_by_label: top_high / top_low are the highest / lowest code with the top count
    SELECT
        c.item_id,
        c.n AS n_labelers,
        c.n_labelers_left,
        c.failure_mode AS labels_failure_mode,
        c.last_labeled_at,
        c.n_current_guideline,
        c.n_with_guideline,
        c.n_top,
        {top_high} AS top_high,
        {top_low} AS top_low,
        {n_agree_listed} AS n_agree_listed,
        c.n_kept,
        c.n_top_kept,
        {kept_high} AS kept_high,
        {kept_low} AS kept_low
    FROM item_label_tops AS c
),
judged AS (
    SELECT *
    FROM {judged}
),
facts AS (
    SELECT
        COALESCE(i.item_id, j.item_id) AS item_id,
        COALESCE(i.failure_mode, j.labels_failure_mode, 'unspecified') AS failure_mode,
        i.gold_label,
        i.honeypot_label,
        j.n_labelers,
        j.n_labelers_left,
        CASE WHEN $repeats = 1 THEN ic.n_judgments ELSE j.n_labelers END AS n_judgments,
        CASE WHEN $repeats = 1 THEN ic.last_labeled_at ELSE j.last_labeled_at END AS last_labeled_at,
        CASE WHEN $repeats = 1 THEN ic.n_current_guideline ELSE j.n_current_guideline END AS n_current_guideline,
        CASE WHEN $repeats = 1 THEN ic.n_with_guideline ELSE j.n_with_guideline END AS n_with_guideline,
        j.n_top,
        j.top_high,
        j.top_low,
        j.n_agree_listed,
        j.n_kept,
        j.n_top_kept,
        j.kept_high,
        j.kept_low
    FROM item_rows AS i
    FULL OUTER JOIN judged AS j ON i.item_id = j.item_id
    LEFT JOIN item_counts AS ic ON COALESCE(i.item_id, j.item_id) = ic.item_id
)
SELECT
    f.item_id,
    f.failure_mode,
    f.gold_label,
    f.honeypot_label,
    CAST(COALESCE(f.n_labelers, 0) AS BIGINT) AS n_labelers,
    CAST(COALESCE(f.n_labelers_left, 0) AS BIGINT) AS n_labelers_left,
    CAST(COALESCE(f.n_judgments, 0) AS BIGINT) AS n_judgments,
    f.last_labeled_at,
    CAST(COALESCE(f.n_current_guideline, 0) AS BIGINT) AS n_current_guideline,
    CAST(COALESCE(f.n_with_guideline, 0) AS BIGINT) AS n_with_guideline,
    CASE WHEN f.top_high = f.top_low THEN top.label END AS majority_label,
    CAST(CASE WHEN f.top_high <> f.top_low THEN 1 ELSE 0 END AS BIGINT) AS majority_tied,
    CAST(COALESCE(f.n_top, 0) AS BIGINT) AS n_top,
    CAST(COALESCE(f.n_agree_listed, 0) AS BIGINT) AS n_agree_listed,
    CAST(COALESCE(f.n_kept, 0) AS BIGINT) AS n_kept,
    CASE WHEN f.n_top_kept > 0 AND f.kept_high = f.kept_low THEN kept.label END AS kept_label,
    CAST(CASE WHEN f.n_top_kept > 0 AND f.kept_high <> f.kept_low THEN 1 ELSE 0 END AS BIGINT) AS kept_tied,
    CAST(c.posterior_positive AS DOUBLE) AS posterior_positive,
    c.consensus_label AS derived_label,
    CAST(c.posterior_consensus AS DOUBLE) AS posterior_derived,
    CAST(c.posterior_listed AS DOUBLE) AS posterior_listed,
    c.method AS derived_method
FROM facts AS f
LEFT JOIN label_codes AS top ON f.top_high = top.code
LEFT JOIN label_codes AS kept ON f.kept_high = kept.code
LEFT JOIN part_consensus AS c
    ON f.item_id = c.item_id AND (c.failure_mode IS NULL OR c.failure_mode = f.failure_mode)
ORDER BY f.item_id
