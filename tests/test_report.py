"""The HTML report from constructed stage tables: sections present or "not computed", escaping, size, charts."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evalaudit import findings as fnd
from evalaudit import history, report
from evalaudit.findings import Finding
from evalaudit.report import svg

HOSTILE = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</script><script>document.title='pwned'</script>",
    "<!--",
    "a\u2028b\u2029c",
    "' onmouseover='window.__pwned=3",
    "&amp;<b>bold</b>",
]


def _doc(found: list[Finding], store: dict | None = None) -> dict:
    extra = {"config": "defaults"}
    if store:
        extra["store"] = store
    return fnd.document(found, extra, generated_at=datetime(2026, 1, 1, tzinfo=UTC))


def hostile_tables(ids: list[str]) -> tuple[dict[str, pa.Table], list[Finding]]:
    """One small table of every shape the report reads, with ``ids`` as labeler ids, failure modes, item ids,
    batch and model names."""
    n = len(ids)
    weeks = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(weeks=k) for k in range(6)]
    tables = {
        "agreement": pa.table({
            "scope": ["overall"] + ["failure_mode"] * n + ["batch"] * n + ["window"] * 6,
            "slice": ["all", *ids, *ids, *[w.date().isoformat() for w in weeks]],
            "metric": ["krippendorff_alpha"] * (1 + 2 * n + 6),
            "level": ["nominal"] * (1 + 2 * n + 6),
            "value": np.linspace(0.2, 0.9, 1 + 2 * n + 6),
            "ci_low": np.linspace(0.1, 0.8, 1 + 2 * n + 6),
            "ci_high": np.linspace(0.3, 0.95, 1 + 2 * n + 6),
            "n_items": [100] * (1 + 2 * n + 6), "n_labels": [300] * (1 + 2 * n + 6),
            "ci_method": ["bootstrap percentile"] * (1 + 2 * n + 6),
        }),
        "agreement_failure_mode_window": cells_table(ids, [w.date() for w in weeks], with_missing=False),
        "agreement_pairs": pa.table({"labeler_a": ids, "labeler_b": ids[::-1], "n_items": [30] * n,
                                     "kappa": [0.5] * n, "percent_agreement": [0.8] * n, "weights": [None] * n}),
        "leniency": pa.table({"labeler_id": ids, "failure_mode": ids, "evidence": ["overlap"] * n,
                              "effect": [0.12] * n, "ci_low": [0.05] * n, "ci_high": [0.2] * n,
                              "p_value": [1e-5] * n, "q_value": [1e-4] * n, "n": [200] * n, "method": ids}),
        "labeler_stats": pa.table({"labeler_id": ids, "failure_mode": ids, "n_judgments": [10] * n,
                                   "share_of_gold": [0.1] * n}),
        "drift": pa.table({"labeler_id": ids, "failure_mode": ids, "change_date": [weeks[3]] * n,
                           "change": [0.2] * n, "p_value": [1e-4] * n, "q_value": [1e-3] * n, "n": [50] * n}),
        "drift_series": pa.table({"labeler_id": [i for i in ids for _ in weeks],
                                  "failure_mode": [i for i in ids for _ in weeks], "week": weeks * n,
                                  "n": [10] * (6 * n), "rate": [0.5, 0.5, 0.5, 0.8, 0.8, 0.8] * n,
                                  "peer_rate": [0.5] * (6 * n)}),
        "items": pa.table({"item_id": ids, "failure_mode": ids, "gold_label": ids,
                           "poison_score": [0.9] * n, "flags": [[i, "too_old"] for i in ids],
                           "relabel_priority": list(range(n))}),
        "coverage": pa.table({"slice_column": ["failure_mode"] * n, "value": ids, "n_eval": [10] * n,
                              "eval_share": [1 / n] * n, "n_production": [10] * n, "production_share": [1 / n] * n,
                              "difference": [0.0] * n, "ci_low": [-0.1] * n, "ci_high": [0.1] * n,
                              "p_value": [0.5] * n, "q_value": [0.5] * n}),
        "impact": pa.table({"model_version": ids * 2, "failure_mode": ["all"] * n + [ids[0]] * n,
                            "score_current": [0.8] * 2 * n, "score_audited": [0.75] * 2 * n, "delta": [0.05] * 2 * n,
                            "ci_low": [0.02] * 2 * n, "ci_high": [0.08] * 2 * n, "n_items": [100] * 2 * n,
                            "n_audited": [90] * 2 * n, "n_gold_changed": [7] * 2 * n}),
    }
    found = [Finding("labeler_leniency", "high", f"Labeler {i} is lenient on {i}.", evidence=i, labeler_id=i,
                     failure_mode=i, effect=0.12, ci_low=0.05, ci_high=0.2, q_value=1e-4, n=200,
                     details={"item_ids": [i], i: i}) for i in ids]
    found.append(Finding("eval_score_inflation", "high", f"{ids[-1]} is flattered on {ids[0]}.", evidence=ids[0],
                         failure_mode=ids[0], effect=0.05, ci_low=0.02, ci_high=0.08, n=100,
                         details={"model_version": ids[-1],
                                  "by_model_version": {i: {"current": 0.8, "audited": 0.75} for i in ids},
                                  "trend": {"reversed": True, "sentence": f"from {ids[0]} to {ids[-1]} it falls"}}))
    return tables, found


def cells_table(failure_modes: list[str], starts: list, seed: int = 0, with_missing: bool = True) -> pa.Table:
    """The agreement stage's failure mode × window table: one cell per pair, every third without a value
    (too few items) unless ``with_missing`` is false."""
    rng = np.random.default_rng(seed)
    n = len(failure_modes) * len(starts)
    value = rng.uniform(-0.2, 1.0, n)
    missing = (np.arange(n) % 3 == 2) & with_missing
    return pa.table({
        "failure_mode": [fm for fm in failure_modes for _ in starts], "window_start": pa.array(starts * len(
            failure_modes), pa.date32()), "window": ["week"] * n, "metric": ["krippendorff_alpha"] * n,
        "level": ["nominal"] * n, "value": pa.array(np.where(missing, np.nan, value), from_pandas=True),
        "ci_low": pa.array(np.where(missing, np.nan, value - 0.1), from_pandas=True),
        "ci_high": pa.array(np.where(missing, np.nan, np.minimum(value + 0.1, 1.0)), from_pandas=True),
        "n_items": [120] * n, "n_labels": [300] * n, "n_pairable": np.where(missing, 12, 90),
        "ci_method": [None if m else "item-jackknife normal" for m in missing],
        "note": ["too few pairable items (12 items with 2+ labels; at least 30 needed)" if m else None
                 for m in missing],
    })


def heatmap_of(html: str, title_start: str) -> str:
    """The SVG chart whose title starts with ``title_start`` (as escaped in the page)."""
    for chunk in html.split("<svg ")[1:]:
        if chunk.split("<title>", 1)[1].startswith(title_start):
            return chunk.split("</svg>", 1)[0]
    raise AssertionError(f"no chart titled {title_start!r}")


def row_labels(chart: str) -> list[str]:
    """A heatmap's row labels: the right-aligned texts left of the cells (all at the same x)."""
    found = re.findall(r'<text class="tick tick-y" x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]*)</text>', chart)
    left = min(float(x) for x, _ in found)
    return [text for x, text in found if float(x) == left]


def render_hostile() -> str:
    tables, found = hostile_tables(HOSTILE)
    doc = _doc(found, {"n_judgments": 10, "n_items": 5, "n_labelers": 7, "n_failure_modes": 7,
                       "first_labeled_at": HOSTILE[0], "last_labeled_at": HOSTILE[2]})
    doc["summary"]["skipped"] = [{"analysis": i, "reason": i} for i in HOSTILE]
    entries = [{"key": i, "kind": i, "severity": "high", "message": i} for i in HOSTILE]
    doc["summary"]["changes"] = {
        "previous_run": {"run_id": HOSTILE[0], "run_at": HOSTILE[1]}, "comparable": True, "new": entries,
        "resolved": entries, "n_new": len(entries), "n_resolved": len(entries), "n_persisting": 0,
        "moved": [{**e, "labeler_id": i, "failure_mode": i, "effect_before": 0.1, "effect_now": 0.2, "delta": 0.1,
                   "relative_change": 1.0} for e, i in zip(entries, HOSTILE, strict=True)],
        "moved_method": HOSTILE[2]}
    doc["summary"]["store_path"] = HOSTILE[0]
    run_at = datetime(2026, 1, 1, tzinfo=UTC)
    hist = pa.concat_tables([history.rows_for_run("r", f"run{k}", run_at + timedelta(days=k), doc, tables)
                             for k in range(2)])
    return report.render(doc, tables, history=hist, store_tables={"predictions", "production"})


def test_hostile_strings_never_land_raw():
    html = render_hostile()
    for s in HOSTILE:
        if s in ("<!--", "a\u2028b\u2029c"):  # harmless in HTML text; checked inside the JSON block below
            continue
        assert s not in html, f"unescaped {s!r}"
    # exactly two script elements: the inert JSON block and our own hashed script
    assert len(re.findall(r"<script\b", html)) == 2
    assert "<!--" not in html
    # outside the inert JSON block (where `onerror=` is plain data in a JSON string), never an attribute
    head, rest = html.split('id="evalaudit-summary">', 1)
    outside = head + rest.split("</script>", 1)[1]
    assert "onerror=" not in outside.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "\u2028" not in html.split('id="evalaudit-summary">')[1].split("</script>")[0]
    # the escaped ids are there, as text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_script_json_round_trips_and_cannot_close_the_element():
    value = {"ids": HOSTILE, "n": 3, HOSTILE[2]: HOSTILE[0]}
    text = str(report.script_json(value))
    assert "</" not in text and "<!--" not in text and "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == value


def test_csp_allows_exactly_the_inline_script():
    html = render_hostile()
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "http" not in csp
    body = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_no_reference_to_any_network_resource():
    html = render_hostile()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_every_section_renders_from_constructed_tables():
    html = render_hostile()
    for sid in ("findings", "trends", "agreement", "leniency", "drift", "concentration", "items", "coverage",
                "impact"):
        block = html.split(f'<section id="{sid}">')[1].split("</section>")[0]
        assert "not computed" not in block, sid
    assert html.count("<svg") >= 10
    # charts have labelled axes
    assert "Krippendorff&#x27;s alpha" in html or "Krippendorff's alpha" in html
    assert "effect (difference in positive rate vs peers)" in html


FM_WINDOW_TITLE = "Krippendorff&#x27;s alpha, nominal, per failure mode per week"


def test_failure_mode_window_heatmap_has_a_row_per_failure_mode():
    modes = ["code_correctness", "refusal", "tone"]
    starts = [(datetime(2026, 1, 5) + timedelta(weeks=k)).date() for k in range(4)]
    html = report.render(_doc([]), {"agreement": hostile_tables(["x"])[0]["agreement"],
                                    "agreement_failure_mode_window": cells_table(modes, starts)})
    block = html.split('<section id="agreement">')[1].split("</section>")[0]
    chart = heatmap_of(block, FM_WINDOW_TITLE)
    labels = row_labels(chart)
    assert labels == modes  # rows = failure modes, in name order
    cells = re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", chart)
    assert len(cells) == len(modes) * len(starts)
    assert "refusal · 2026-01-12: Krippendorff&#x27;s alpha " in " ".join(cells)
    assert any("not computed" in c and "too few pairable items" in c for c in cells)
    assert any("item-jackknife normal" in c for c in cells)
    assert "week start (UTC)" in chart and "failure mode" in chart  # labelled axes
    # the coefficient × window heatmap stays beside it
    assert "All failure modes together: each coefficient per time window" in block


def test_failure_mode_window_heatmap_from_the_agreement_stage():
    from evalaudit.agreement import agreement_table
    from tests.test_agreement_stage import history

    tables = agreement_table(history()).tables
    html = report.render(_doc([]), tables)
    chart = heatmap_of(html, FM_WINDOW_TITLE)
    assert row_labels(chart) == ["clear", "murky", "tiny"]
    assert len(re.findall(r"<rect [^>]*><title>", chart)) == 9  # 3 failure modes × 3 weeks
    assert chart.count('fill="#ddd"') == 3  # 'tiny' never has enough items: grey


def test_failure_mode_window_heatmap_caps_its_rows():
    modes = [f"fm{k:03d}" for k in range(55)]
    html = report.render(_doc([]), {"agreement": hostile_tables(["x"])[0]["agreement"],
                                    "agreement_failure_mode_window": cells_table(modes, [datetime(2026, 1, 5).date()])})
    chart = heatmap_of(html, FM_WINDOW_TITLE)
    assert row_labels(chart) == modes[:40]
    assert "The heatmap shows 40 of 55 failure modes" in html


def test_missing_tables_say_not_computed_and_why():
    html = report.render(_doc([]), {}, history=None, store_tables=set())
    for sid, reason in (("trends", "first run"), ("agreement", "agreement stage did not run"),
                        ("leniency", "labelers stage did not run"), ("items", "items stage did not run"),
                        ("coverage", "no production sample in the store"),
                        ("impact", "no predictions in the store")):
        block = html.split(f'<section id="{sid}">')[1].split("</section>")[0]
        assert "not computed" in block and reason in block, sid
    html = report.render(_doc([]), {}, store_tables={"predictions"})
    assert "the impact stage did not run" in html


def test_tables_are_capped_and_point_to_the_parquet():
    n = 5000
    items = pa.table({"item_id": [f"i{k}" for k in range(n)], "failure_mode": ["fm"] * n,
                      "gold_label": ["pass"] * n, "poison_score": np.linspace(0, 1, n),
                      "flags": [["too_old"]] * n, "relabel_priority": np.arange(n, dtype=np.float64)})
    html = report.render(_doc([]), {"items": items})
    block = html.split('<section id="items">')[1].split("</section>")[0]
    assert "showing 300 of 5,000; every row is in items.parquet" in block
    assert block.count("<tr>") == 301
    # highest priority first
    first = re.search(r'<tbody>\s*<tr><td>(i\d+)</td>', block).group(1)
    assert first == f"i{n - 1}"


def test_report_of_a_10m_judgment_store_stays_far_below_15_mb():
    """Shapes of a 10M-judgment store (2,000 labelers x 20 failure modes, 2.5M items, a year of weeks)."""
    rng = np.random.default_rng(0)
    labs = np.array([f"labeler-{k:04d}" for k in range(2000)])
    fms = np.array([f"failure_mode_{k:02d}" for k in range(20)])
    lab = np.repeat(labs, 20 * 4)
    fm = np.tile(np.repeat(fms, 4), 2000)
    ev = np.tile(["overlap", "honeypot", "assignment", "dawid_skene"], 2000 * 20)
    eff = rng.normal(0, 0.03, lab.size)
    leniency = pa.table({"labeler_id": lab, "failure_mode": fm, "evidence": ev, "effect": eff,
                         "ci_low": eff - 0.05, "ci_high": eff + 0.05, "p_value": rng.uniform(size=lab.size),
                         "q_value": rng.uniform(size=lab.size), "n": rng.integers(20, 500, lab.size)})
    n_items = 2_500_000
    ids = pc.binary_join_element_wise("item-", pa.array(np.arange(n_items)).cast(pa.string()), "")
    flags = pa.ListArray.from_arrays(pa.array(np.arange(n_items + 1, dtype=np.int32)),
                                     pa.DictionaryArray.from_arrays(np.zeros(n_items, np.int32),
                                                                    ["single_label"]).cast(pa.string()))
    items = pa.table({"item_id": ids,
                      "failure_mode": pa.DictionaryArray.from_arrays(rng.integers(0, 20, n_items).astype(np.int32),
                                                                     fms.tolist()),
                      "gold_label": pa.DictionaryArray.from_arrays((rng.uniform(size=n_items) < 0.7).astype(np.int32),
                                                                   ["fail", "pass"]),
                      "poison_score": rng.uniform(size=n_items), "flags": flags,
                      "relabel_priority": rng.uniform(size=n_items)})
    weeks = [datetime(2025, 1, 6, tzinfo=UTC) + timedelta(weeks=k) for k in range(52)]
    n_series = 2000 * 20
    series = pa.table({"labeler_id": np.repeat(lab[::4], 52), "failure_mode": np.repeat(fm[::4], 52),
                       "week": pa.array(weeks * n_series), "n": np.full(52 * n_series, 5),
                       "rate": rng.uniform(size=52 * n_series), "peer_rate": rng.uniform(size=52 * n_series)})
    drift = pa.table({"labeler_id": labs[:60], "failure_mode": fms[np.arange(60) % 20],
                      "change_date": pa.array([weeks[20]] * 60), "q_value": np.full(60, 1e-4)})
    found = [Finding("labeler_leniency", "high", "lenient", "overlap", labeler_id=str(labs[k]),
                     failure_mode=str(fms[k % 20]), effect=0.1, ci_low=0.05, ci_high=0.15, q_value=1e-6, n=300)
             for k in range(200)]
    cells = cells_table(fms.tolist(), [w.date() for w in weeks])
    versions = [f"model-{k:02d}" for k in range(20)]
    grid = [(v, m) for v in versions for m in ["all", *fms.tolist()]]
    impact_t = pa.table({"model_version": [v for v, _ in grid], "failure_mode": [m for _, m in grid],
                         "score_current": rng.uniform(0.7, 0.9, len(grid)),
                         "score_audited": rng.uniform(0.7, 0.9, len(grid)),
                         "delta": rng.normal(0, 0.02, len(grid)), "ci_low": np.full(len(grid), -0.05),
                         "ci_high": np.full(len(grid), 0.05), "n_items": np.full(len(grid), 125_000),
                         "n_audited": np.full(len(grid), 120_000), "n_gold_changed": np.full(len(grid), 9_000)})
    found += [Finding("eval_score_inflation", "high", "inflated", "bootstrap", failure_mode=str(m), effect=0.05,
                      ci_low=0.03, ci_high=0.07, n=125_000,
                      details={"model_version": versions[-1],
                               "by_model_version": {v: {"current": 0.8, "audited": 0.75} for v in versions}})
              for m in fms]
    doc = _doc(found)
    doc["summary"]["skipped"] = [{"analysis": f"analysis {k}", "reason": "no timestamps"} for k in range(30)]
    html = report.render(doc, {"leniency": leniency, "items": items, "drift": drift, "impact": impact_t,
                               "drift_series": series, "agreement_failure_mode_window": cells})
    assert html.count("<title>Eval score on failure_mode_") == report.MAX_SEED_CHARTS  # the verdict's seed charts
    size = len(html.encode())
    assert size < 15 * 2**20
    print(f"10M-shape report: {size / 2**20:.2f} MB")
    assert size < 3 * 2**20, f"report grew to {size / 2**20:.1f} MB"


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-6, 1e6))
def test_nice_ticks_cover_the_range_in_round_steps(lo, span):
    assume(span >= 1e-6 * max(1.0, abs(lo)))  # a chart's range is never below float resolution of its values
    hi = lo + span
    ticks = svg.nice_ticks(lo, hi)
    steps = np.diff(ticks)
    assert ticks[0] <= lo + 1e-6 * steps[0] and ticks[-1] >= hi - 1e-6 * steps[0]
    assert 2 <= len(ticks) <= 12
    assert np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9)
    mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert any(np.isclose(mantissa, m, rtol=1e-6) for m in (1, 2, 2.5, 5, 10))


@pytest.mark.parametrize("chart", ["heatmap", "intervals", "lines", "bars"])
def test_charts_escape_every_label(chart):
    s = HOSTILE[0]
    if chart == "heatmap":
        out = svg.heatmap([s], [s], {(s, s): 0.5}, title=s, x_label=s, y_label=s, value_label=s)
    elif chart == "intervals":
        out = svg.intervals([svg.Interval(s, 0.1, 0.0, 0.2, note=s)], title=s, x_label=s)
    elif chart == "lines":
        out = svg.lines({s: [(s, 0.5), ("b", 0.7)]}, title=s, x_label=s, y_label=s)
    else:
        out = svg.grouped_bars([s], {s: [0.5]}, title=s, x_label=s, y_label=s)
    assert s not in str(out) and "&lt;script&gt;" in str(out)
    assert str(out).startswith("<svg") and str(out).endswith("</svg>")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 80), st.integers(1, 30), st.floats(100, 900), st.booleans())
def test_category_labels_leave_room_for_each_label(n, length, span, ordered):
    """Estimated extents (CHAR_W per character; LINE_W per vertical label) of the labels drawn never meet."""
    xs = [10 + span * i / max(n - 1, 1) for i in range(n)]
    labels = [f"{i:0{length}d}"[-length:] for i in range(n)]
    parts, _ = svg.category_labels(xs, labels, 100.0, ordered)
    at = [float(re.search(r'(?:x="|translate\()([\d.]+)', p).group(1)) for p in parts]
    vertical = any("rotate(-90)" in p for p in parts)
    need = svg.LINE_W if vertical else svg.CHAR_W * length + 8
    assert all(b - a >= need - 0.2 for a, b in itertools.pairwise(at))
    assert not (ordered and vertical)
    assert parts and (ordered or vertical or len(parts) == n)


#: the template's table row as it was, a Jinja expression per cell: `report.row_cells` must write the same HTML
_CELLS_IN_JINJA = ('{% for v in row %}{% if v is number %}<td class="num" data-v="{{ v }}">'
                   '{{ v | fmt(columns[loop.index0]) }}</td>{% elif columns[loop.index0] == "severity" %}'
                   '<td class="sev-{{ v }}">{{ v }}</td>{% else %}<td>{{ v | fmt }}</td>{% endif %}{% endfor %}')

_CELL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["high", "<b>&'\"", "", " ", "—"]),
    st.builds(lambda t: report.Markup('<a href="#x">{}</a>').format(t), st.text(max_size=6)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["severity", "p_value", "q_value", "n", "labeler_id", "effect"]),
                          _CELL_VALUES), max_size=8))
def test_row_cells_write_what_the_per_cell_template_wrote(cells):
    columns, row = [c for c, _ in cells], [v for _, v in cells]
    reference = report._env.from_string(_CELLS_IN_JINJA).render(row=row, columns=columns)
    assert str(report.row_cells(row, columns)) == reference


def test_history_rows_are_the_history_as_python_rows():
    """The trends section's rows convert each distinct run time once (sections._history_rows): the same dicts as
    ``to_pylist``, a missing time included, whatever the order of the rows."""
    from evalaudit.report import sections

    t0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
    times = [t0, t0 + timedelta(days=1), None, t0, t0 + timedelta(days=1)]
    hist = pa.table({"run_id": ["a", "b", "c", "a", "b"],
                     "run_at": pa.array(times, pa.timestamp("us", tz="UTC")),
                     "metric": ["finding", "labeler_effect", "finding", "agreement_alpha", "finding"],
                     "value": [0.1, None, 0.3, 0.4, 0.5]})
    hist = pa.concat_tables([hist.slice(3), hist.slice(0, 3)])  # two chunks, times not in order
    assert sections._history_rows(hist) == hist.to_pylist()
