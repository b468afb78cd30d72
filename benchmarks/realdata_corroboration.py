"""Would a second, model-based reference corroborate the per-label findings that rest on peers alone?
(docs/realdata.md, "The one finding against the truth", rules 4a and 4b.)

For every real-data fixture, the audit's medium/high per-label leniency/severity findings (nominal spaces without
an acceptable label) are set beside two measures of the same worker's use of the same label against the
leave-one-out multi-class Dawid–Skene posterior (``fit_multiclass`` on the fixture's labels, prior strength 4 as
the stage's default; the worker's own judgment divided out of the item's posterior and renormalised):

- ``over-use``: the worker's rate of the label minus the mean leave-one-out posterior of the label on their items
  (the peer finding's quantity, with the model's estimate of the truth in place of the peers' labels); z from the
  per-judgment differences;
- ``(s - t)/2``: half the difference between sensitivity and specificity of "the label vs the rest" against that
  posterior (rule 3a's measure); z from binomial variances of the two rates.

The truth is used only to score (``agrees_truth``). A corroboration rule would keep a finding medium/high only when
the model-based measure has the finding's sign. Run: ``python -m benchmarks.realdata_corroboration [dataset ...]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from evalaudit.labelers.dawid_skene import fit_multiclass
from tests import realdata


def model_measures(labels: pd.DataFrame, prior_strength: float = 4.0) -> dict[tuple[str, str], dict[str, float]]:
    """Per (worker, label): both measures and their z, against the leave-one-out multi-class posterior."""
    item, _ = pd.factorize(labels["item_id"])
    worker, workers = pd.factorize(labels["labeler_id"])
    values = sorted(labels["label"].astype(str).unique())
    code = labels["label"].astype(str).map({v: k for k, v in enumerate(values)}).to_numpy()
    fit = fit_multiclass(code, item, worker, np.zeros(item.max() + 1, dtype=int),
                         np.zeros(len(workers), dtype=int), len(values), None, prior_strength, 1e-4, 50)
    loo = fit.posterior[item] / np.clip(fit.confusion[worker, :, code], 1e-12, None)
    loo /= loo.sum(axis=1, keepdims=True)
    out: dict[tuple[str, str], dict[str, float]] = {}
    for k, value in enumerate(values):
        y, t = (code == k).astype(float), loo[:, k]
        df = pd.DataFrame({"w": worker, "d": y - t, "ty": t * y, "t": t, "nn": (1 - t) * (1 - y), "nt": 1 - t})
        g = df.groupby("w")
        n, mean, sd, sums = g.size(), g["d"].mean(), g["d"].std(ddof=1), g[["ty", "t", "nn", "nt"]].sum()
        sens, spec = sums["ty"] / sums["t"], sums["nn"] / sums["nt"]
        half = (sens - spec) / 2
        with np.errstate(divide="ignore", invalid="ignore"):  # a worker always right or always wrong: z = ±inf
            z_over = mean / (sd / np.sqrt(n))
            z_half = half / (0.5 * np.sqrt(sens * (1 - sens) / sums["t"] + spec * (1 - spec) / sums["nt"]))
        for w in n.index:
            out[(workers[w], value)] = {"over_use": float(mean[w]), "z_over_use": float(z_over[w]),
                                        "half_st": float(half[w]), "z_half_st": float(z_half[w])}
    return out


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or realdata.DATASETS:
            audit = realdata.audit(name, Path(tmp) / name)
            per_label = [c for c in realdata.leniency_checks(audit) if c["label"] is not None]
            if not per_label:
                print(f"{name}: no medium/high per-label finding")
                continue
            measures = model_measures(realdata.load(name)[0])
            for c in per_label:
                m = measures.get((c["labeler_id"], str(c["label"])))
                if m is None:
                    continue
                claim = np.sign(c["effect"])
                print(f"{name} {c['labeler_id']} {c['label']} {c['severity']}: effect {c['effect']:+.3f}, true "
                      f"{c['true_bias']:+.3f} (agrees with the truth: {c['agrees']}); over-use {m['over_use']:+.3f} "
                      f"(z {m['z_over_use']:+.1f}, same sign: {np.sign(m['over_use']) == claim}); (s - t)/2 "
                      f"{m['half_st']:+.3f} (z {m['z_half_st']:+.1f}, same sign: {np.sign(m['half_st']) == claim})")


if __name__ == "__main__":
    main(sys.argv[1:])
