"""Run every benchmark, each in its own process (so peak-memory figures do not mix): `python -m benchmarks [name]`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
names = sys.argv[1:] or sorted(p.stem for p in here.glob("bench_*.py"))
failed = 0
for name in names:
    module = name if name.startswith("bench_") else f"bench_{name}"
    print(f"\n=== {module}", flush=True)
    failed += subprocess.run([sys.executable, "-m", f"benchmarks.{module}"], cwd=here.parent).returncode != 0
sys.exit(1 if failed else 0)
