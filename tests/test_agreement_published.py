"""Published worked examples of every coefficient, reproduced to the precision they were printed with.

Data and citations: tests/fixtures/agreement/published/ (expected.json names the paper, book or article and
the section or table of each case).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalaudit import agreement

HERE = Path(__file__).parent / "fixtures" / "agreement" / "published"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
CASES = [(case, result) for case in EXPECTED["cases"] for result in case["results"]]


@pytest.mark.parametrize(
    ("case", "result"), CASES,
    ids=[f"{c['name']}-{r['call']}-{'-'.join(str(v) for v in r['kwargs'].values())}" for c, r in CASES],
)
def test_published_value(case: dict, result: dict) -> None:
    data = pd.read_csv(HERE / case["file"], dtype=str)
    value = getattr(agreement, result["call"])(data, **result["kwargs"])
    assert value == pytest.approx(result["value"], abs=0.5 * 10 ** -result["decimals"]), case["source"]


def test_every_case_cites_its_source() -> None:
    for case in EXPECTED["cases"]:
        assert len(case["source"]) > 40 and any(ch.isdigit() for ch in case["source"])


def test_fleiss_refuses_missing_ratings_naming_the_counts() -> None:
    """Krippendorff's data has items with 1-4 labels: statsmodels would return a number, we refuse."""
    data = pd.read_csv(HERE / "krippendorff2011_12units.csv", dtype=str)
    with pytest.raises(ValueError, match=r"8 item\(s\) with 4 label\(s\).*krippendorff_alpha"):
        agreement.fleiss_kappa(data)


def test_gwet_ordinal_weights_are_not_krippendorff_ordinal() -> None:
    """The trap docs/agreement.md warns of: irrCAC's 'ordinal' weighted alpha is not Krippendorff's ordinal alpha."""
    data = pd.read_csv(HERE / "krippendorff2011_12units.csv", dtype=str)
    kripp = agreement.krippendorff_alpha(data, level="ordinal")
    gwet = agreement.weighted_alpha(data, weights="ordinal")
    assert kripp == pytest.approx(0.815, abs=5e-4)
    assert abs(kripp - gwet) > 1e-3
    # Gwet's quadratic weights are a rescaled interval metric, so that weighted alpha *is* interval alpha
    assert agreement.weighted_alpha(data, weights="quadratic") == pytest.approx(
        agreement.krippendorff_alpha(data, level="interval"), abs=1e-12)


def test_every_input_kind_gives_the_same_number() -> None:
    """docs/agreement.md: pandas, polars, pyarrow and DuckDB relations are accepted; numeric labels count as numbers."""
    import duckdb
    import polars as pl
    import pyarrow as pa

    frame = pd.read_csv(HERE / "krippendorff2011_12units.csv", dtype=str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    con = duckdb.connect()
    relation = con.from_arrow(table)
    numeric = frame.assign(label=frame["label"].astype(int))
    for data in (frame, pl.from_pandas(frame), table, relation, numeric):
        assert agreement.krippendorff_alpha(data, level="interval") == pytest.approx(0.849, abs=5e-4)
        assert agreement.gwet_ac1(data) == pytest.approx(0.77544, abs=5e-6)
