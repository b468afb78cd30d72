-- One row: a vendor named by some judgment (view `judgments`), in sort order.
SELECT DISTINCT vendor
FROM judgments
WHERE vendor IS NOT NULL
ORDER BY vendor
