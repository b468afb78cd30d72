import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="evalaudit: audit overview")

with app.setup:
    import marimo as mo

    from evalaudit import notebooks as nb


@app.cell
def load():
    # The whole audit (`evalaudit run`'s stages) over the store given with `-- --store DIR` (default data/demo).
    # This is the first load; every cell below only selects from its tables or queries the store's views.
    audit = nb.audit_from_args()
    con = audit.engine.con
    return audit, con


@app.cell
def store_summary(audit):
    _s = audit.summary["store"]
    _sev = {s: sum(1 for f in audit.findings if f.severity == s) for s in ("high", "medium", "low")}
    _alpha = audit.summary.get("agreement", {}).get("krippendorff_alpha")
    mo.vstack([
        mo.md(f"# Audit overview\n`{audit.store}` · labels from {str(_s['first_labeled_at'])[:10]} to "
              f"{str(_s['last_labeled_at'])[:10]} · settings: {audit.cfg.source or 'defaults'}"),
        mo.hstack([
            mo.stat(f"{_s['n_judgments']:,}", label="judgments"),
            mo.stat(f"{_s['n_items']:,}", label="items"),
            mo.stat(f"{_s['n_labelers']:,}", label="labelers"),
            mo.stat(f"{_s['n_failure_modes']:,}", label="failure modes"),
            mo.stat("n/a" if _alpha is None else f"{_alpha:.3f}", label="Krippendorff's alpha (overall)"),
            mo.stat(f"{_sev['high']} / {_sev['medium']} / {_sev['low']}", label="findings high / medium / low"),
        ], justify="start", wrap=True),
    ])
    return


@app.cell
def controls(audit):
    fm_choice = mo.ui.dropdown([nb.ALL, *audit.failure_modes()], value=nb.ALL, label="failure mode",
                               searchable=True)
    labeler_choice = mo.ui.dropdown([nb.ALL, *audit.labelers()], value=nb.ALL, label="labeler (flagged first)",
                                    searchable=True)
    mo.vstack([mo.md("Choose a failure mode or a labeler: everything below follows the choice."),
               mo.hstack([fm_choice, labeler_choice], justify="start")])
    return fm_choice, labeler_choice


@app.cell
def selection(audit, fm_choice, labeler_choice):
    failure_mode = nb.chosen(fm_choice.value)
    labeler_id = nb.chosen(labeler_choice.value)
    # a one-row view the SQL cells join: the choice is data, never text spliced into a query
    selection_view = nb.select(audit.engine, failure_mode, labeler_id, audit.ctx.labels.positive)
    return failure_mode, labeler_id, selection_view


@app.cell
def agreement_over_time(audit, failure_mode):
    agreement_series = nb.agreement_over_time(audit, failure_mode)
    _where = failure_mode or "all failure modes"
    mo.vstack([
        mo.md(f"## Agreement over time — {_where}\nKrippendorff's alpha per {audit.cfg.agreement.window} with its "
              "item-bootstrap interval; windows with too few items labeled twice are gaps."),
        mo.ui.altair_chart(nb.band_chart(
            agreement_series.to_pylist(), x="slice", y="value", lo="ci_low", hi="ci_high", series=None,
            title=f"Krippendorff's alpha per {audit.cfg.agreement.window}",
            x_title=f"{audit.cfg.agreement.window} (UTC)", y_title="Krippendorff's alpha",
            band_title="item-bootstrap 95% interval")) if agreement_series.num_rows
        else mo.md("_No window has enough items labeled twice._"),
    ])
    return (agreement_series,)


@app.cell
def leniency_map(audit, failure_mode, labeler_id):
    _len = nb.where(audit.tables.get("leniency", nb.empty_leniency()), failure_mode=failure_mode,
                    labeler_id=labeler_id)
    map_labelers = [labeler_id] if labeler_id else nb.top_labelers(_len, 30)
    map_failure_modes = [failure_mode] if failure_mode else audit.failure_modes()
    mo.vstack([
        mo.md("## Leniency map\nEffect = difference in positive rate against peers on comparable items (the "
              "strongest kind of evidence per cell); labelers with the most significant effects first."),
        mo.Html(nb.leniency_map(_len, map_labelers, map_failure_modes)) if map_labelers
        else mo.md("_No leniency test for this selection._"),
        mo.ui.table(nb.best_leniency(_len).sort_by([("q_value", "ascending")]).select(
            ["labeler_id", "failure_mode", "evidence", "effect", "ci_low", "ci_high", "q_value", "n"]),
            selection=None, page_size=10, format_mapping=nb.formats(_len)),
    ])
    return (map_labelers,)


@app.cell
def judges_panel(audit, failure_mode):
    # Model judges (labelers.kind = model) beside the people: evalaudit.judges, as in the report's section
    import evalaudit.judges as _judges

    judges_shown = _judges.shown(audit.tables.get("judges"), failure_mode)
    mo.vstack([
        mo.md(f"## LLM judges beside people — {failure_mode or 'all failure modes'}\n{_judges.KAPPA_METHOD}; "
              f"{_judges.AGREEMENT_METHOD}. {_judges.CHANGE_METHOD}."),
        mo.ui.table(judges_shown, selection=None, page_size=10, format_mapping=nb.formats(judges_shown))
        if judges_shown.num_rows else mo.md("_No model judge (labelers.kind = model) judged beside people here._"),
    ])
    return (judges_shown,)


@app.cell
def findings(audit, failure_mode, labeler_id):
    findings_shown = nb.findings_table(audit.findings, failure_mode, labeler_id)
    mo.vstack([mo.md(f"## Findings ({findings_shown.num_rows})"),
               mo.ui.table(findings_shown, selection=None, page_size=15,
                           format_mapping=nb.formats(findings_shown))])
    return (findings_shown,)


@app.cell
def weekly_sql_title():
    mo.md(r"""
    ## Judgments per week
    SQL over the store's `labels` view and the one-row `nb_selection` view of the choice above — edit the query.
    """)
    return


@app.cell
def weekly(con, selection_view):
    weekly_judgments = mo.sql(
        f"""
        -- One row per week: judgments and positive share in the current selection.
        SELECT
            DATE_TRUNC('week', l.labeled_at) AS week,
            COUNT(*) AS judgments,
            SUM(CASE WHEN l.label = s.positive THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0) AS positive_share
        FROM labels AS l
        CROSS JOIN {selection_view} AS s
        WHERE (s.failure_mode IS NULL OR l.failure_mode = s.failure_mode)
          AND (s.labeler_id IS NULL OR l.labeler_id = s.labeler_id)
        GROUP BY DATE_TRUNC('week', l.labeled_at)
        ORDER BY week NULLS LAST
        """,
        engine=con,
    )
    return (weekly_judgments,)


if __name__ == "__main__":
    app.run()
