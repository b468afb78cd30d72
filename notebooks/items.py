import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="evalaudit: gold items")

with app.setup:
    import copy

    import marimo as mo

    from evalaudit import notebooks as nb


@app.cell
def load():
    # The audit's stages over the store given with `-- --store DIR` (default data/demo).
    audit = nb.audit_from_args()
    audit.answers()  # each model version's answers, fetched once for every re-derivation of the gold
    con = audit.engine.con
    return audit, con


@app.cell
def intro():
    mo.md(r"""
    # Gold items
    Which labelers' judgments the audited gold sets aside, the thresholds it uses, and what that does to each
    model version's eval score — recomputed live (only what depends on the choices is re-derived: the audited
    gold, three flags, the findings and the scores; the labeler statistics are reused). Then the gold items themselves, filtered, and the re-labeling queue.
    """)
    return


@app.cell
def gold_controls(audit):
    # one form, so that several changes re-derive the gold once (4-5 s on a 10M-judgment store); until it is
    # submitted the run's own gold is shown
    _d = nb.gold_defaults(audit)
    gold_form = mo.md(
        """
        **Set aside** labelers flagged at or above {severity} · also every judgment of {exclude} ·
        but keep {spare}

        **Thresholds**: {posterior} {material}
        """
    ).batch(
        severity=mo.ui.dropdown(["high", "medium", "low"], value=_d["severity"], label="severity"),
        exclude=mo.ui.multiselect(audit.labelers(), label="labelers"),
        spare=mo.ui.multiselect(nb.flagged_labeler_ids(audit), label="flagged labelers"),
        posterior=mo.ui.slider(0.5, 0.99, step=0.01, value=_d["posterior"], show_value=True,
                               label="gold contradicts consensus at posterior ≥"),
        material=mo.ui.slider(0.005, 0.10, step=0.005, value=_d["material"], show_value=True,
                              label="score change worth a finding ≥"),
    ).form(submit_button_label="Re-derive the audited gold", bordered=True)
    gold_form
    return (gold_form,)


@app.cell
def regold(audit, gold_form):
    _v = gold_form.value or nb.gold_defaults(audit)
    excluded = nb.exclusions(audit, _v["severity"], _v["exclude"], _v["spare"])
    _cfg = copy.deepcopy(audit.cfg)
    _cfg.items.consensus_min_posterior = _v["posterior"]
    _cfg.impact.material = _v["material"]
    with mo.status.spinner(title="Re-deriving the audited gold …"):
        gold = nb.regold(audit, excluded, _cfg)
    gold_items = gold.tables["items"]
    mo.md(("The run's own audited gold. " if gold is audit.ctx else "Re-derived. ")
          + f"Setting aside {len(excluded)} labeler × failure mode pair(s): "
          + (", ".join(f"`{lab}` · {fm or 'all'}" + (f" since {str(since)[:10]}" if since else "")
                       for lab, fm, since in excluded) or "none") + ".")
    return excluded, gold, gold_items


@app.cell
def impact(gold):
    impact_table = gold.tables.get("impact")
    _inflation = nb.findings_table(gold.findings, kinds=("eval_score_inflation",))
    _chart = nb.seed_chart(impact_table, gold.findings)
    # click a point or a legend entry: the table below shows that model version / gold
    seed_chart = mo.ui.altair_chart(_chart) if _chart is not None else None
    mo.vstack([
        mo.md("## Eval score per model version: current vs audited gold\n"
              "Each failure mode whose score moves materially, in release order; "
              "delta = score_current − score_audited (positive: today's gold flatters the model)."),
        seed_chart if seed_chart is not None else mo.md("_No predictions in the store: nothing to score._"),
        mo.md(f"`eval_score_inflation` findings at these settings: {_inflation.num_rows}"),
        mo.ui.table(_inflation, selection=None, format_mapping=nb.formats(_inflation)),
    ])
    return impact_table, seed_chart


@app.cell
def impact_selected(impact_table, seed_chart):
    # the rows of impact.parquet behind the chart's selection (all rows of the charted modes when nothing is picked)
    _picked = seed_chart.value if seed_chart is not None else None
    _rows = nb.impact_rows(impact_table, _picked) if impact_table is not None else None
    mo.ui.table(_rows, selection=None, format_mapping=nb.formats(_rows)) if _rows is not None else None
    return


@app.cell
def item_filters(audit):
    flag_choice = mo.ui.multiselect(list(nb.flag_names()), label="flags (all of)")
    items_fm_choice = mo.ui.dropdown([nb.ALL, *audit.failure_modes()], value=nb.ALL, label="failure mode")
    items_labeler_choice = mo.ui.dropdown([nb.ALL, *audit.labelers()], value=nb.ALL, label="judged by",
                                          searchable=True)
    top_slider = mo.ui.slider(10, 1000, step=10, value=100, label="queue length", show_value=True)
    mo.vstack([mo.md("## Gold items"),
               mo.hstack([flag_choice, items_fm_choice, items_labeler_choice, top_slider], justify="start",
                         wrap=True)])
    return flag_choice, items_fm_choice, items_labeler_choice, top_slider


@app.cell
def filtered(audit, flag_choice, gold_items, items_fm_choice, items_labeler_choice):
    items_shown = nb.filter_items(audit, gold_items, flag_choice.value, items_fm_choice.value,
                                  items_labeler_choice.value)
    mo.vstack([mo.md(f"{items_shown.num_rows:,} of {gold_items.num_rows:,} items"),
               mo.ui.table(items_shown.sort_by("relabel_priority").slice(0, 2000), selection=None, page_size=15,
                           format_mapping=nb.formats(items_shown))])
    return (items_shown,)


@app.cell
def queue(items_shown, top_slider):
    relabel = nb.relabel_queue(items_shown, top_slider.value)
    mo.vstack([mo.md(f"## Re-labeling queue (top {relabel.num_rows}; `evalaudit relabel` exports the same "
                     "order as CSV or a Label Studio file)"),
               mo.ui.table(relabel, selection=None, page_size=15, format_mapping=nb.formats(relabel))])
    return (relabel,)


@app.cell
def flags_sql_title():
    mo.md(r"""
    ## Poison scores by failure mode
    SQL over the audit's `audit_items` view (the items as the run derived them) — edit the query.
    """)
    return


@app.cell
def flags_sql(con):
    flag_counts = mo.sql(
        """
        -- One row per failure mode: gold items, how many are likely wrong, and how many the audit re-derived.
        SELECT
            failure_mode,
            COUNT(*) AS gold_items,
            SUM(CASE WHEN poison_score >= 0.5 THEN 1 ELSE 0 END) AS poison_score_over_half,
            SUM(CASE WHEN audited_status = 'rederived' THEN 1 ELSE 0 END) AS gold_rederived,
            AVG(poison_score) AS mean_poison_score
        FROM audit_items
        GROUP BY failure_mode
        ORDER BY gold_items DESC NULLS LAST
        """,
        engine=con,
    )
    return (flag_counts,)


if __name__ == "__main__":
    app.run()
