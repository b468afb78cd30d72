-- One row per label row: a hash of the judgment's key (item_id, labeler_id). Two rows of one labeler and item have
-- the same hash; two with the same hash are only candidates (distinct keys can collide), so the repeats are counted
-- exactly among the candidates by `judgments_repeats`. Each engine's own hash function (64 bits in DuckDB, 32 in
-- Spark): its values are only compared with each other, so the counts do not depend on it.
SELECT hash(item_id, labeler_id) AS key_hash
FROM labels
