-- One row per item a labeler judged (any failure mode): `evalaudit relabel --labeler` keeps the gold items among them.
SELECT DISTINCT item_id
FROM labels
WHERE labeler_id = $labeler_id
