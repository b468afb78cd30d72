-- One row per labeler × failure mode: on the items this labeler shares with other labelers, their judgment against
-- the leave-this-labeler-out majority of the others (items where the others tie are skipped; labelers listed in the
-- view labelers_excluded, i.e. detected spammers, never count as peers). n items compared, own positives,
-- peer-consensus positives, and the discordant counts: b = labeler positive while peers are not, c = labeler not
-- positive while peers are.
WITH judged AS (
    SELECT
        j.item_id,
        j.labeler_id,
        j.failure_mode,
        j.is_positive,
        CASE WHEN x.labeler_id IS NULL THEN 1 ELSE 0 END AS is_peer
    FROM labelers_judgments AS j
    LEFT JOIN labelers_excluded AS x ON j.labeler_id = x.labeler_id
),
per_item AS (
    SELECT item_id, failure_mode, SUM(is_peer) AS n_labels, SUM(is_peer * is_positive) AS n_pos
    FROM judged
    GROUP BY item_id, failure_mode
),
paired AS (
    SELECT
        j.labeler_id,
        j.failure_mode,
        j.is_positive AS own,
        p.n_labels - j.is_peer AS n_others,
        p.n_pos - j.is_peer * j.is_positive AS n_others_pos
    FROM judged AS j
    JOIN per_item AS p ON j.item_id = p.item_id AND j.failure_mode = p.failure_mode
),
decided AS (
    SELECT labeler_id, failure_mode, own, CASE WHEN 2 * n_others_pos > n_others THEN 1 ELSE 0 END AS peer
    FROM paired
    WHERE n_others >= 1 AND 2 * n_others_pos <> n_others
)
SELECT
    labeler_id,
    failure_mode,
    COUNT(*) AS n,
    SUM(own) AS n_own_pos,
    SUM(peer) AS n_peer_pos,
    SUM(CASE WHEN own = 1 AND peer = 0 THEN 1 ELSE 0 END) AS b,
    SUM(CASE WHEN own = 0 AND peer = 1 THEN 1 ELSE 0 END) AS c
FROM decided
GROUP BY labeler_id, failure_mode
