#!/bin/sh
# evalaudit: a nightly audit from cron (docs/scheduling.md). Example crontab line:
#
#   17 3 * * *  STORE=/data/labels-store REPORTS=/srv/evalaudit/reports /opt/evalaudit/evalaudit-nightly.sh >>/var/log/evalaudit.log 2>&1
#
# The history (REPORTS/history.parquet) stays on this machine's disk between runs: keep REPORTS on a disk that is
# backed up, and never point two machines' crons at copies of it. `flock -n` makes a run that starts while the
# previous one is still going skip (exit 0, one line on stderr) instead of piling up. With SLACK_WEBHOOK set,
# summary.md is posted to that Slack incoming webhook. Exit: evalaudit's (1 = a new high finding, 2 = bad input).
set -u
: "${STORE:?set STORE to the store directory}"
: "${REPORTS:?set REPORTS to the reports directory (history.parquet is kept there)}"
NAME="${NAME:-nightly}"
EVALAUDIT="${EVALAUDIT:-evalaudit}"

mkdir -p "$REPORTS"
exec 9>"$REPORTS/.evalaudit-$NAME.flock"
if ! flock -n 9; then
    echo "evalaudit-nightly: a previous run still holds $REPORTS/.evalaudit-$NAME.flock; skipping this one" >&2
    exit 0
fi

"$EVALAUDIT" run --store "$STORE" --out "$REPORTS/$NAME" --fail-on-new high --quiet
code=$?

if [ -n "${SLACK_WEBHOOK:-}" ] && [ -f "$REPORTS/$NAME/summary.md" ]; then
    jq -Rs '{text: .}' "$REPORTS/$NAME/summary.md" \
        | curl -fsS -X POST -H 'Content-Type: application/json' --data @- "$SLACK_WEBHOOK" >/dev/null \
        || echo "evalaudit-nightly: posting summary.md to Slack failed" >&2
fi
exit "$code"
