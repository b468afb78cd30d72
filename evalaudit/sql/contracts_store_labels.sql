-- One row per distinct label already stored: the default set of allowed labels when [labels] values is empty.
SELECT DISTINCT label
FROM labels
WHERE label IS NOT NULL
ORDER BY label NULLS LAST
