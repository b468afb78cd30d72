-- One row per judgment that counts, when no labeler judged an item twice: every label row (the view `judgments`
-- is then `labels` itself; see judgments.sql for the policy when repeats exist).
SELECT l.*
FROM labels AS l
