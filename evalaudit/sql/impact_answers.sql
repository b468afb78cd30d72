-- One row per model version × item it answered: its answer. A version that answered an item twice counts its
-- lexically greatest answer, deterministically.
SELECT model_version, item_id, MAX(prediction) AS prediction
FROM predictions
GROUP BY model_version, item_id
