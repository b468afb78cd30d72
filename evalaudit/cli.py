"""The `evalaudit` command line: each command parses its options and calls one library function.

Exit codes: :data:`EXIT_CODES` (rendered into docs/cli.md). Library errors arrive as
:class:`evalaudit.errors.EvalauditError`, whose ``options`` name the library parameters at fault; this module alone
knows the flag of each (:data:`FLAGS`) and the terminal display (:func:`progress_display`).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from evalaudit import __version__
from evalaudit.errors import EvalauditError, UnusableInput

log = logging.getLogger("evalaudit")

#: what each exit code of every command means (docs/cli.md is generated from this)
EXIT_CODES = (
    (0, "done (ingest: also when rows were quarantined or set aside as duplicates; `check`: the batch passes; `run`: "
        "nothing at or above `--fail-on`, with `--fail-on-new` nothing new at or above it)"),
    (1, "`check`: the contract is violated; `run`: findings at or above `--fail-on`; `notebook --export`: a cell "
        "failed"),
    (2, "unusable input — one sentence on stderr naming the file, row, column, setting or flag, and the culprit: "
        "`(input)`, `(store)` or `(output)`. Covers what a user or the disk causes: bad files, paths and configs "
        "(every config problem listed at once), a FIFO or device as input, `--out` touching a store, a full or "
        "read-only disk, a damaged store file or run history. Nothing is written; a failed command leaves no trace "
        "in the store"),
    (3, "a bug in evalaudit itself, never something a user's data or settings can cause (`EVALAUDIT_DEBUG=1` shows "
        "the traceback); please report it"),
    (130, "interrupted (Ctrl-C); the store and any earlier report are left as they were"),
)


def _setup_logging(quiet: bool) -> None:
    """Plain log lines on stderr when not on a terminal (cron, CI); rich ones on a terminal; none with --quiet."""
    log.handlers.clear()
    log.propagate = False
    if quiet:
        log.setLevel(logging.WARNING)
    else:
        log.setLevel(logging.INFO)
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s evalaudit %(message)s", "%Y-%m-%dT%H:%M:%S"))
    log.addHandler(handler)


#: the flag of each library parameter an error can name (``EvalauditError.options``): the library speaks of its
#: parameters, the command line of its flags
FLAGS = {"store": "--store", "out": "--out", "fail_on": "--fail-on", "fail_on_new": "--fail-on-new",
         "engine": "--engine", "spark_conf": "--spark-conf", "mapping": "--map", "fmt": "--format", "flags": "--flag",
         "edit": "--edit", "export": "--export", "table": "--table", "question": "--question", "melt": "--melt",
         "include_judges": "--include-judges"}


def sentence(e: EvalauditError) -> str:
    """A library error as the CLI prints it: its sentence, then the flags of the parameters at fault."""
    flags = [FLAGS.get(o, f"--{o.replace('_', '-')}") for o in e.options]
    return f"{e} (see {', '.join(flags)})" if flags else str(e)


def _errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one sentence on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvalauditError as e:
            click.echo(f"evalaudit: {sentence(e)}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("evalaudit: interrupted; nothing was written", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:
            user_caused = _user_caused(e)
            if user_caused is not None:
                click.echo(f"evalaudit: {user_caused}", err=True)
                sys.exit(130 if isinstance(e, _interrupts()) else 2)
            if os.environ.get("EVALAUDIT_DEBUG"):
                raise
            click.echo(
                f"evalaudit: internal error ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                "please report it, with EVALAUDIT_DEBUG=1 set to see the traceback",
                err=True,
            )
            sys.exit(3)

    return wrapper


def _interrupts() -> tuple[type[BaseException], ...]:
    """What DuckDB and pyarrow raise instead of KeyboardInterrupt when Ctrl-C arrives inside them."""
    import duckdb
    import pyarrow as pa

    return (duckdb.InterruptException, pa.ArrowCancelled)


def _user_caused(e: Exception) -> str | None:
    """The sentence for an error the disk, the machine or an interrupt caused where no library code named the
    culprit (each place that knows it raises UnusableInput itself); None for evalaudit's own bugs."""
    import errno

    if isinstance(e, _interrupts()):
        return "interrupted; nothing was written"
    if isinstance(e, RecursionError):
        return "an input is nested too deeply to be read (RecursionError); flatten it or split it"
    if isinstance(e, MemoryError):
        return "out of memory; set EVALAUDIT_MEMORY_LIMIT or [run] memory_limit lower, or use a larger machine"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                                              errno.EIO, errno.ENOTDIR, errno.EISDIR, errno.ELOOP,
                                              errno.ENAMETOOLONG, errno.EMFILE, errno.ENFILE, errno.EXDEV):
        where = f"{e.filename}: " if e.filename else ""
        return f"{where}{(e.strerror or str(e)).lower()} (the disk or file system refused an operation)"
    return None


@contextmanager
def progress_display(quiet: bool, on_terminal: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """The progress callback ``progress(stage, done, total)`` handed to :func:`evalaudit.run.audit`: a rich progress
    display on a terminal, plain log lines otherwise (cron, CI), nothing with ``--quiet``. Display is the CLI's
    concern; the library only calls the callback."""
    if quiet:
        yield None
        return
    if not on_terminal:
        last: dict[str, tuple[int, int]] = {}

        def plain(stage: str, done: int, total: int) -> None:
            if last.get(stage) != (done, total) and 0 < done < total:
                log.info("stage %s: %d/%d", stage, done, total)
            last[stage] = (done, total)

        yield plain
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description:<12}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                    transient=False)
    tasks: dict[str, Any] = {}

    def rich_progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=max(total, 1))
        bars.update(tasks[stage], completed=done, total=max(total, 1))

    with bars:
        yield rich_progress


#: whether this command line is the process's own (set by _Group.main)
_WHOLE_PROCESS = [False]


class _Group(click.Group):
    """Usage errors, like every other input error, are one sentence on stderr and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        # no arguments given: the process's own command line (the console script, `python -m evalaudit.cli`), so
        # this command is the whole life of the process (see evalaudit.startup); a caller in its own interpreter
        # (a test's CliRunner, a script) passes its arguments
        _WHOLE_PROCESS[0] = not args and kwargs.get("args") is None
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "evalaudit"
            click.echo(f"{where}: {e.format_message()} (see `{where} --help`)", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("evalaudit: aborted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="evalaudit")
def main() -> None:
    """Audit the human supply chain behind an LLM evaluation set.

    Typical use: `evalaudit ingest` labeling exports into a store, `evalaudit run` the audit on a schedule.
    """


class _Path(click.Path):
    """click.Path that refuses an empty value: ``--store ''`` or ``--out ''`` would silently mean the current
    directory (a usage error, exit 2)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; name a path, e.g. --store data/store", param, ctx)
        return super().convert(value, param, ctx)


STORE = click.option("--store", required=True, type=_Path(file_okay=False, path_type=Path),
                     help="The store directory (plain Parquet, created on first ingest).")
CONFIG = click.option("--config", type=_Path(dir_okay=False, path_type=Path), default=None,
                      help="evalaudit.toml with labels, gold and threshold settings (defaults apply without it).")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=_Path(path_type=Path))
@STORE
@click.option("--table", default="labels", show_default=True,
              type=click.Choice(["labels", "items", "labelers", "predictions", "production"]),
              help="The canonical table the files hold.")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "parquet", "csv", "jsonl", "label-studio", "argilla", "prodigy", "langfuse",
                                 "sagemaker-gt"]),
              help="Input format; auto decides from the file name and contents (tool exports by their keys).")
@click.option("--question", default=None, metavar="NAME",
              help="The labeling question / score name to ingest when a tool export has several.")
@click.option("--melt", default=None, metavar="GLOB",
              help="A wide table: columns matching GLOB become judgments (labeler_id = column name, label = value; "
                   "null = not judged).")
@click.option("--include-judges", is_flag=True,
              help="Also ingest LLM-judge scores (Langfuse EVAL) as judgments of labelers of kind model, named "
                   "<judge>@<version>, and add them to the labelers table.")
@click.option("--map", "mappings", multiple=True, metavar="SRC=DST",
              help="Read source column SRC as canonical column DST (repeatable).")
@_errors
def ingest(paths: tuple[Path, ...], store: Path, table: str, fmt: str, question: str | None, melt: str | None,
           include_judges: bool, mappings: tuple[str, ...]) -> None:
    """Validate files and append them to the store, with provenance.

    Rows that cannot be stored (a missing required value, an unparseable timestamp, ...) go to
    STORE/quarantine/ with the reason; a file already ingested (same sha256) adds nothing. A file that cannot
    be read at all stops the command with exit code 2 before anything is written.
    """
    from evalaudit.ingest import ReadOptions, ingest_files, parse_map

    results = ingest_files(store, paths, table=table, fmt=fmt, mapping=parse_map(mappings),
                           options=ReadOptions(question=question, include_judges=include_judges, melt=melt))
    totals = {"added": 0, "quarantined": 0, "duplicate": 0, "in_file": 0, "stored": 0}
    for r in results:
        if r.status == "duplicate":
            totals["duplicate"] += 1
            click.echo(f"skipped {r.path}: already ingested into {r.table} (sha256 {r.sha256[:12]}…)")
            continue
        totals["added"] += r.rows_added
        totals["quarantined"] += r.rows_quarantined
        totals["in_file"] += r.rows_duplicate_in_file
        totals["stored"] += r.rows_duplicate_stored
        line = f"added {r.rows_added:,} rows to {r.table} from {r.path}"
        if r.rows_quarantined:
            line += f"; quarantined {r.rows_quarantined:,} → {r.quarantine_file}"
        click.echo(line)
        if r.rows_duplicate_stored:
            click.echo(f"  {r.rows_duplicate_stored:,} × set aside: the same judgment is already in the store")
        if r.rows_duplicate_in_file:
            click.echo(f"  {r.rows_duplicate_in_file:,} × set aside: repeats an earlier row of the file")
        for reason, n in r.reasons[:5]:
            click.echo(f"  {n:,} × {reason}")
        for note in r.notes:
            click.echo(f"  note: {note}")
        if r.labelers_added:
            click.echo(f"  labelers of kind model added: {', '.join(r.labelers_added)}")
        if r.ignored_columns:
            click.echo(f"  columns not stored (not part of {r.table}): {', '.join(r.ignored_columns)}")
    click.echo(
        f"{totals['added']:,} rows added, {totals['quarantined']:,} quarantined, "
        f"{totals['stored'] + totals['in_file']:,} set aside as duplicate judgments "
        f"({totals['stored']:,} already stored, {totals['in_file']:,} repeated within a file), "
        f"{totals['duplicate']} file(s) skipped as already ingested"
    )


@main.command()
@click.argument("path", type=_Path(path_type=Path))
@STORE
@CONFIG
@click.option("--promote", is_flag=True,
              help="Append the batch to the store when it passes (same writer as ingest); keep a failing batch "
                   "whole, with its validation result, in STORE/quarantine/batches/<sha256>/.")
@click.option("--docs", "docs_dir", type=_Path(file_okay=False, path_type=Path), default=None,
              help="Write a self-contained HTML page of the validation to DIR/index.html (opens offline).")
@click.option("--format", "output", default="text", show_default=True, type=click.Choice(["text", "json"]),
              help="Print the result as text for a person or as JSON.")
@_errors
def check(path: Path, store: Path, config: Path | None, promote: bool, docs_dir: Path | None, output: str) -> None:
    """Check a new labeling batch against the data contract (docs/contracts.md), listing every problem at once.

    Row expectations (columns, nulls, labels, duplicates, timestamps, labelers, guideline) and batch expectations
    (overlap, honeypot accuracy, agreement, positive-rate shift against the store). Exit 0 when every expectation
    holds, 1 when any is violated, 2 when the file or store cannot be used at all.
    """
    import json

    from evalaudit import config as config_mod
    from evalaudit.contracts import check_batch

    result = check_batch(path, store, config_mod.load(config), promote_batch=promote, docs=docs_dir)
    click.echo(json.dumps(result.to_json(), indent=2) if output == "json" else result.to_text())
    if not result.passed:
        sys.exit(1)


@main.command()
@STORE
@click.option("--out", required=True, type=_Path(file_okay=False, path_type=Path),
              help="Directory for index.html, findings.json and the Parquet tables (replaced atomically).")
@CONFIG
@click.option("--fail-on", default="high", show_default=True, type=click.Choice(["high", "medium", "low", "never"]),
              help="Exit 1 when any finding is at or above this severity.")
@click.option("--fail-on-new", default=None, type=click.Choice(["high", "medium", "low"]),
              help="Exit 1 only when a finding new since the previous run of this --out (in the history) is at or "
                   "above this severity; replaces --fail-on. For scheduled runs: see docs/scheduling.md.")
@click.option("--engine", default="duckdb", show_default=True, type=click.Choice(["duckdb", "spark"]),
              help="Query engine; spark runs the same named queries on a Spark session.")
@click.option("--spark-master", default=None, metavar="URL",
              help="Spark master for --engine spark (spark://..., yarn, k8s://...); local mode when omitted.")
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE",
              help="A Spark setting for --engine spark (repeatable), e.g. spark.executor.memory=8g.")
@click.option("--quiet", is_flag=True, help="No progress and no log lines; only the final summary.")
@click.option("--redact-labelers", is_flag=True,
              help="Replace labeler ids by stable salted pseudonyms in every output (for reports shared outside "
                   "the team; salt from $EVALAUDIT_REDACT_SALT or .evalaudit-redact-salt beside --out).")
@_errors
def run(store: Path, out: Path, config: Path | None, fail_on: str, fail_on_new: str | None, engine: str,
        spark_master: str | None, spark_conf: tuple[str, ...], quiet: bool, redact_labelers: bool) -> None:
    """Run the full audit of the store and write the report and machine-readable findings."""
    from evalaudit import config as config_mod
    from evalaudit.run import audit

    if engine == "duckdb" and _WHOLE_PROCESS[0]:
        from evalaudit.startup import without_pandas

        without_pandas()  # pyarrow would import it unused (evalaudit.startup)
    _setup_logging(quiet)
    cfg = config_mod.load(config)
    if engine != "spark" and (spark_master or spark_conf):
        raise UnusableInput("--spark-master and --spark-conf apply only with --engine spark")
    spark: dict[str, Any] = {}
    if engine == "spark":
        from evalaudit.engine_spark import parse_conf, require_pyspark

        require_pyspark()
        spark = {"spark_master": spark_master, "spark_conf": parse_conf(spark_conf)}
    with progress_display(quiet, sys.stderr.isatty()) as progress:
        result = audit(store, out, cfg, fail_on=fail_on, engine=engine, progress=progress,
                       redact_labelers=redact_labelers, fail_on_new=fail_on_new, **spark)
    sev = result.summary["by_severity"]
    click.echo(
        f"{result.summary['n_findings']} findings: {sev['high']} high, {sev['medium']} medium, {sev['low']} low"
    )
    ch = result.summary["changes"]
    if ch["previous_run"] is not None and ch["comparable"]:
        click.echo(f"since the last run: {ch['n_new']} new, {ch['n_resolved']} resolved, "
                   f"{ch['n_persisting']} persisting")
    click.echo(f"report: {result.out / 'index.html'}")
    click.echo(f"summary: {result.out / 'summary.md'}")
    if result.failed:
        sys.exit(1)


@main.command()
@STORE
@click.option("--out", required=True, type=_Path(dir_okay=False, path_type=Path),
              help="File to write (replaced atomically).")
@click.option("--top", default=500, show_default=True, type=click.IntRange(1),
              help="How many items, highest priority first.")
@click.option("--format", "fmt", default="csv", show_default=True,
              type=click.Choice(["csv", "label-studio", "argilla", "prodigy"]),
              help="CSV, a Label Studio JSON import (one task per item), Argilla 2.x records JSON "
                   "(`dataset.records.from_json`) or a Prodigy JSONL input stream; each carries the items' content "
                   "columns (prompt, response, ...).")
@click.option("--failure-mode", "failure_modes", multiple=True, metavar="NAME",
              help="Only items of this failure mode (repeat for several).")
@click.option("--labeler", "labeler_ids", multiple=True, metavar="ID",
              help="Only items this labeler judged (repeat for several: items any of them judged).")
@click.option("--flag", "flags", multiple=True, metavar="FLAG",
              help="Only items carrying this flag of items.parquet, e.g. flagged_labeler_only, "
                   "gold_disagrees_with_consensus, superseded_guideline (repeat: items carrying all of them).")
@CONFIG
@_errors
def relabel(store: Path, out: Path, top: int, fmt: str, failure_modes: tuple[str, ...],
            labeler_ids: tuple[str, ...], flags: tuple[str, ...], config: Path | None) -> None:
    """Export the gold items most worth re-labeling, highest priority first.

    Priority follows the probability that the item's gold is wrong (Dawid–Skene posterior), which is what
    re-labeling it is expected to change in the eval score; ties go to items in smaller failure modes. The filters
    combine (AND); the report's verdict prints the exact line for each action.
    """
    from evalaudit import config as config_mod
    from evalaudit import relabel as relabel_mod

    _setup_logging(quiet=True)
    relabel_mod.check_out(out, store)
    table = relabel_mod.queue(store, config_mod.load(config), top, failure_modes, labeler_ids, flags)
    n = relabel_mod.write(table, out, fmt)
    click.echo(f"wrote {n:,} items to {out}")


@main.command()
@STORE
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed; same seed, same history.")
@click.option("--judgments", default=200_000, show_default=True, type=click.IntRange(1_000, 10_000_000),
              help="How many judgments to generate (the generator's memory bounds it at 10M).")
@_errors
def demo(store: Path, seed: int, judgments: int) -> None:
    """Write a synthetic labeling history with planted faults into a store, and DIR/truth.json naming them."""
    from evalaudit.demo_store import write_demo

    summary = write_demo(store, seed=seed, n_judgments=judgments)
    click.echo(summary)


@main.command()
@click.argument("name", type=click.Choice(["audit", "labeler", "batch_gate", "items"]))
@click.option("--store", default="data/demo", show_default=True, type=_Path(file_okay=False, path_type=Path),
              help="The store directory the notebook audits.")
@CONFIG
@click.option("--edit", is_flag=True, help="Open the notebook in marimo's editor instead of running it as an app.")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Run the notebook headless and write marimo's HTML export to this file (exit 1 if a cell failed).")
@_errors
def notebook(name: str, store: Path, config: Path | None, edit: bool, export: Path | None) -> None:
    """Open a reactive marimo notebook over the store: audit (overview), labeler (one labeler), batch_gate (check
    and promote a new batch) or items (gold items, re-labeling queue, live eval scores). The notebooks ship inside
    the package. docs/notebooks.md.
    """
    from evalaudit.notebook_files import open_notebook

    code = open_notebook(name, store, config, edit, export)
    if export is not None and code != 0:
        click.echo(f"evalaudit: notebook {name}: a cell failed (marimo's messages above); {export} is not complete",
                   err=True)
        sys.exit(1)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
