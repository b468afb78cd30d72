"""Agreement coefficients against irrCAC (Gwet's reference implementation), on simulated sparse data.

tests/fixtures/agreement/irrcac/ holds the data and irrCAC's values (made by make_reference.py in a separate
environment, since irrCAC pins pandas < 3); each value is compared to irrCAC's printed precision.
"Ordinal" there means Gwet's ordinal weights, which evalaudit calls gwet_ordinal (not Krippendorff's metric).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalaudit import agreement

HERE = Path(__file__).parent / "fixtures" / "agreement" / "irrcac"
REFERENCE = HERE / "reference.json"

if not REFERENCE.exists():  # pragma: no cover - the fixture is committed by another engineer
    pytest.skip("tests/fixtures/agreement/irrcac/reference.json is absent (made by make_reference.py)",
                allow_module_level=True)

DOC = json.loads(REFERENCE.read_text(encoding="utf-8"))
CALLS = {
    "gwet_ac1": lambda d, w, cats: agreement.gwet_ac2(d, weights=w, categories=cats),
    "gwet_ac2": lambda d, w, cats: agreement.gwet_ac2(d, weights=w, categories=cats),
    "fleiss_kappa": lambda d, w, cats: agreement.fleiss_kappa(d, allow_varying=True, weights=w,
                                                              categories=cats),
    "krippendorff_alpha": lambda d, w, cats: agreement.weighted_alpha(d, weights=w, categories=cats),
    "percent_agreement": lambda d, w, cats: agreement.percent_agreement(d, weights=w, categories=cats),
    "brennan_prediger": lambda d, w, cats: agreement.brennan_prediger(d, weights=w, categories=cats),
    "conger_kappa": lambda d, w, cats: agreement.conger_kappa(d, weights=w, categories=cats),
}
CASES = [(case, r) for case in DOC["cases"] for r in case["results"]]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {case["file"]: pd.read_csv(HERE / case["file"], dtype=str, keep_default_na=False)
            for case in DOC["cases"]}


@pytest.mark.parametrize(("case", "result"), CASES,
                         ids=[f"{c['name']}-{r['coefficient']}-{r['weights']}" for c, r in CASES])
def test_matches_irrcac(case: dict, result: dict, frames: dict[str, pd.DataFrame]) -> None:
    value = CALLS[result["coefficient"]](frames[case["file"]], result["weights"], case["categories"])
    assert value == pytest.approx(result["value"], abs=0.5 * 10 ** -result["decimals"])


def test_reference_covers_every_coefficient() -> None:
    seen = {r["coefficient"] for _, r in CASES}
    assert {"gwet_ac1", "gwet_ac2", "fleiss_kappa", "krippendorff_alpha", "percent_agreement"} <= seen
    assert len(CASES) >= 50
