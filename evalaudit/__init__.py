"""evalaudit: audit the human supply chain behind LLM evaluation sets."""

import os

__version__ = "0.1.0"

# DuckDB's allocator (jemalloc) keeps freed pages for a while before returning them to the OS; a 10M-judgment
# aggregation leaves ~1.5 GiB that way, which the next stage's peak then stacks on. Returning them at once costs no
# measurable time (benchmarks/RESULTS.md). jemalloc reads this when DuckDB first allocates, so it only takes effect
# when evalaudit is imported before duckdb; a value the user set wins.
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
