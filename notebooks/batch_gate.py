import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="evalaudit: batch gate")

with app.setup:
    from pathlib import Path

    import marimo as mo

    from evalaudit import notebooks as nb


@app.cell
def settings():
    # The store given with `-- --store DIR` (default data/demo); `-- --batch FILE` preselects a batch file and
    # `-- --config F` the contract's settings ([contracts] in evalaudit.toml).
    store_dir = nb.arg("store", nb.DEFAULT_STORE)
    config_path = nb.arg("config")
    mo.md(f"""
    # Batch gate
    Check a new labeling batch against the data contract of `{store_dir}` (every expectation at once, as
    `evalaudit check` does), look at the rows behind each failure, compare the batch's labelers with their own
    history, and promote the batch into the store when it passes.
    """)
    return config_path, store_dir


@app.cell
def picker():
    _default = nb.arg("batch", "") or ""
    _start = Path(_default).parent if _default and Path(_default).parent.is_dir() else Path.cwd()
    batch_browser = mo.ui.file_browser(initial_path=str(_start),
                                       filetypes=list(nb.BATCH_SUFFIXES), multiple=False,
                                       label="Pick the batch file")
    batch_text = mo.ui.text(value=_default, label="or type its path", full_width=True)
    mo.vstack([batch_browser, batch_text])
    return batch_browser, batch_text


@app.cell
def check(batch_browser, batch_text, config_path, store_dir):
    _picked = batch_browser.path(0) if batch_browser.value else None
    batch_path = str(_picked) if _picked else (batch_text.value.strip() or None)
    if batch_path is None:
        check_result = None
        _out = mo.md("_Pick a batch file (CSV, Parquet, JSONL or a Label Studio export) to check it._")
    else:
        with mo.status.spinner(title=f"Checking {batch_path} …"):
            check_result = nb.check(batch_path, store_dir, config_path)
        _verdict = {"passed": "✅ **passes** the contract", "failed": "❌ **violates** the contract",
                    "already_in_store": "ℹ️ is **already in the store** (same bytes): nothing to check"}
        _out = mo.md(f"`{batch_path}` {_verdict[check_result.status]} — {len(check_result.failed)} of "
                     f"{len(check_result.results)} expectations violated, {check_result.n_rows:,} rows.")
    _out
    return batch_path, check_result


@app.cell
def failures(check_result):
    if check_result is None or not check_result.failed:
        _out = mo.md("")
    else:
        _out = mo.vstack([
            mo.md("## Failed expectations\nEach with the rows (numbered from 0, the first data row) or the "
                  "labelers behind it."),
            mo.accordion({f"❌ {r.headline()}": mo.vstack([
                mo.md(r.note or ""),
                mo.ui.table(nb.rows_table(r.examples), selection=None) if r.examples else mo.md(""),
                mo.ui.table(nb.rows_table(r.details), selection=None) if r.details else mo.md(""),
            ]) for r in check_result.failed}, multiple=True),
        ])
    _out
    return


@app.cell
def all_expectations(check_result):
    expectations = nb.expectations_table(check_result) if check_result is not None else None
    mo.vstack([mo.md("## Every expectation"), mo.ui.table(expectations, selection=None, page_size=25)]) \
        if expectations is not None and expectations.num_rows else mo.md("")
    return (expectations,)


@app.cell
def history(check_result):
    history_table = nb.beside_history(check_result) if check_result is not None else None
    labeler_shift = nb.labeler_shift(check_result) if check_result is not None else None
    mo.vstack([
        mo.md("## The batch beside the store's history\nThe contract is relative: agreement, each labeler's "
              "honeypot accuracy and each labeler's label rate (or mean label) in the batch against the store's own "
              "history (value, 95% interval and sample size on both sides, the test that decided, and the check's "
              "verdict, the same as `evalaudit check`). Without history the absolute floors run instead, and the "
              "list above says so."),
        mo.ui.table(history_table, selection=None) if history_table is not None and history_table.num_rows
        else mo.md("_Nothing to compare with: the store has no history on this batch's failure modes._"),
        mo.md("### Each labeler against their own history\nLabel rate (or mean label, for ordered labels) in the "
              "batch vs the labeler's own history in the store (or their peers' when they have too little), with "
              "the simultaneous interval of the shift."),
        mo.ui.table(labeler_shift, selection=None) if labeler_shift is not None and labeler_shift.num_rows
        else mo.md(""),
    ]) if check_result is not None and check_result.status != "already_in_store" else mo.md("")
    return history_table, labeler_shift


@app.cell
def batch_views(batch_path, check_result, store_dir):
    # the store's views plus `batch` (the file as ingest would store it), for the SQL below
    batch_con = (nb.batch_engine(batch_path, store_dir).con
                 if check_result is not None and check_result.status != "already_in_store" else None)
    return (batch_con,)


@app.cell
def volume_sql(batch_con):
    batch_volume = None
    if batch_con is not None:
        batch_volume = mo.sql(
            """
            -- One row per labeler of the batch: judgments in the batch and in the store so far.
            SELECT
                b.labeler_id,
                COUNT(*) AS batch_judgments,
                MIN(h.n_history) AS store_judgments,
                MIN(h.last_labeled_at) AS last_in_store
            FROM batch AS b
            LEFT JOIN (
                SELECT labeler_id, COUNT(*) AS n_history, MAX(labeled_at) AS last_labeled_at
                FROM labels
                GROUP BY labeler_id
            ) AS h ON h.labeler_id = b.labeler_id
            GROUP BY b.labeler_id
            ORDER BY batch_judgments DESC NULLS LAST
            """,
            engine=batch_con,
        )
    return (batch_volume,)


@app.cell
def promote_control(check_result):
    promote_button = mo.ui.run_button(label="Promote the batch into the store",
                                      disabled=check_result is None or check_result.status != "passed")
    mo.vstack([mo.md("## Promote"), promote_button]) if check_result is not None else mo.md("")
    return (promote_button,)


@app.cell
def promote(batch_path, check_result, config_path, promote_button, store_dir):
    promoted = None
    if promote_button.value and check_result is not None and check_result.status == "passed":
        # checks again and appends only when it still passes (ingest's writer: atomic, idempotent by sha256)
        promoted = nb.check(batch_path, store_dir, config_path, promote=True)
    mo.md(f"Promoted: {promoted.rows_added:,} rows added to `{store_dir}`." if promoted is not None
          and promoted.promoted else ("Not promoted." if promoted is not None else ""))
    return (promoted,)


if __name__ == "__main__":
    app.run()
