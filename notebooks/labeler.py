import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="evalaudit: one labeler")

with app.setup:
    import marimo as mo

    from evalaudit import notebooks as nb


@app.cell
def load():
    # The audit's stages over the store given with `-- --store DIR` (default data/demo); `-- --labeler ID`
    # preselects a labeler.
    audit = nb.audit_from_args()
    con = audit.engine.con
    return audit, con


@app.cell
def controls(audit):
    _labelers = audit.labelers()
    _wanted = nb.arg("labeler")
    labeler_choice = mo.ui.dropdown(_labelers, value=_wanted if _wanted in _labelers else _labelers[0],
                                    label="labeler (flagged first)", searchable=True)
    labeler_choice
    return (labeler_choice,)


@app.cell
def selection(audit, labeler_choice):
    labeler_id = labeler_choice.value
    profile = nb.labeler_profile(audit, labeler_id)
    selection_view = nb.select(audit.engine, None, labeler_id, audit.ctx.labels.positive)
    return labeler_id, profile, selection_view


@app.cell
def workload(labeler_id, profile):
    _all = profile.overall
    mo.vstack([
        mo.md(f"# Labeler `{labeler_id}`"),
        mo.hstack([
            mo.stat(f"{_all.get('n_judgments', 0):,}", label="judgments"),
            mo.stat(nb.pct(_all.get("share_of_judgments")), label="share of all judgments"),
            mo.stat(nb.pct(_all.get("share_of_gold")), label="share of gold items judged"),
            mo.stat(nb.pct(_all.get("positive_rate")), label="positive rate"),
            mo.stat(str(_all.get("max_severity") or "none"), label="most severe finding"),
        ], justify="start", wrap=True),
        mo.md("## Workload and share per failure mode"),
        mo.ui.table(profile.workload, selection=None, page_size=20),
        mo.md(f"## Findings naming this labeler ({profile.findings.num_rows})"),
        mo.ui.table(profile.findings, selection=None, format_mapping=nb.formats(profile.findings)),
    ])
    return


@app.cell
def leniency(profile):
    mo.vstack([
        mo.md("## Leniency by failure mode\nEffect = difference in positive rate against peers on comparable "
              "items, one row per kind of evidence (overlap, honeypot, assignment, dawid_skene), with its interval; "
              "red = q-value below 0.05."),
        mo.Html(nb.intervals_chart(profile.leniency, ["failure_mode", "evidence"],
                                   title="Effect with its interval, per failure mode and evidence",
                                   x_label="effect (difference in positive rate vs peers)"))
        if profile.leniency.num_rows else mo.md("_No leniency test had enough comparable items._"),
        mo.ui.table(profile.leniency, selection=None, page_size=10,
                    format_mapping=nb.formats(profile.leniency)),
    ])
    return


@app.cell
def drift_controls(profile):
    drift_fm_choice = mo.ui.dropdown(profile.failure_modes, value=profile.default_failure_mode,
                                     label="failure mode for the drift chart")
    drift_fm_choice
    return (drift_fm_choice,)


@app.cell
def drift(audit, drift_fm_choice, labeler_id, profile):
    drift_weeks = nb.where(profile.drift_series, failure_mode=drift_fm_choice.value)
    _changes = nb.where(profile.drift, failure_mode=drift_fm_choice.value).to_pylist()
    _said = ("; ".join(f"change point in the week of {str(r['change_date'])[:10]}: effect {r['effect_before']:+.3f} "
                       f"→ {r['effect_after']:+.3f} (q {r['q_value']:.2g})" for r in _changes)
             or "no change point passed the test")
    mo.vstack([
        mo.md(f"## Drift over time — {drift_fm_choice.value}\nWeekly positive rate of `{labeler_id}` against "
              f"peers' on the same failure mode (CUSUM change-point test, q below {audit.cfg.drift.q_max:g}): "
              f"**{_said}**."),
        mo.Html(nb.lines_chart(drift_weeks, "week", {"labeler": "rate", "peers": "peer_rate"},
                               title="weekly positive rate", y_label="positive rate", y_range=(0.0, 1.0))),
    ])
    return (drift_weeks,)


@app.cell
def disagreements_title():
    mo.md(r"""
    ## Items where this labeler disagrees with the consensus
    SQL over the store's `labels` view and the audit's `audit_consensus` view (Dawid–Skene posterior per item);
    edit the query.
    """)
    return


@app.cell
def disagreements(con, selection_view):
    labeler_disagreements = mo.sql(
        f"""
        -- One row per judgment of the selected labeler whose label differs from the item's consensus label.
        SELECT
            l.item_id,
            l.failure_mode,
            l.labeled_at,
            l.label,
            c.consensus_label,
            c.posterior_positive,
            c.n_labels
        FROM labels AS l
        CROSS JOIN {selection_view} AS s
        JOIN audit_consensus AS c ON c.item_id = l.item_id
        WHERE l.labeler_id = s.labeler_id
          AND c.n_labels > 1
          AND l.label <> c.consensus_label
        ORDER BY l.labeled_at DESC NULLS LAST
        LIMIT 500
        """,
        engine=con,
    )
    return (labeler_disagreements,)


@app.cell
def honeypot(profile):
    mo.vstack([
        mo.md("## Honeypot record\nThe labeler's positive rate on control items against their known answers "
              "(`honeypot` evidence), per failure mode."),
        mo.ui.table(profile.honeypot, selection=None) if profile.honeypot.num_rows
        else mo.md("_No honeypot test: too few control items judged, or none in the store._"),
    ])
    return


@app.cell
def honeypot_sql(con, selection_view):
    honeypot_judgments = mo.sql(
        f"""
        -- One row per failure mode: the selected labeler's judgments of control items and how many match the answer.
        SELECT
            l.failure_mode,
            COUNT(*) AS judgments,
            SUM(CASE WHEN l.label = i.honeypot_label THEN 1 ELSE 0 END) AS correct
        FROM labels AS l
        CROSS JOIN {selection_view} AS s
        JOIN items AS i ON i.item_id = l.item_id
        WHERE l.labeler_id = s.labeler_id
          AND i.honeypot_label IS NOT NULL
        GROUP BY l.failure_mode
        ORDER BY l.failure_mode NULLS LAST
        """,
        engine=con,
    )
    return (honeypot_judgments,)


@app.cell
def concentration(profile):
    mo.vstack([
        mo.md("## Concentration\nHow much of each failure mode's gold rests on this labeler: gold items they "
              "judged, those they judged alone, and their gold weight share (each gold item split among its "
              "labelers); labeler pairs who agree more than chance allows (collusion test) below."),
        mo.ui.table(profile.concentration, selection=None),
        mo.ui.table(profile.pairs, selection=None) if profile.pairs.num_rows
        else mo.md("_No labeler pair with this labeler was tested for collusion._"),
    ])
    return


if __name__ == "__main__":
    app.run()
