"""evalaudit: audit the human supply chain behind LLM evaluation sets."""

import os

__version__ = "0.1.0"

# DuckDB's allocator (jemalloc) keeps freed pages for a while before returning them to the OS (10 s by default); a
# 10M-judgment aggregation leaves ~1.5 GiB that way, which the next stage's peak would then stack on. Returned within
# a second, the pages of one query are still there for the next query of the same stage: returning them at once
# instead (decay 0) cost 3.1M page faults and 6-8 s of system time in a 10M-judgment run, and the same peak
# (benchmarks/RESULTS.md, "Freed pages kept for a second"). jemalloc reads this when DuckDB first allocates, so it
# only takes effect when evalaudit is imported before duckdb; a value the user set wins.
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
