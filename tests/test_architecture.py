"""The layers point one way, and docs/architecture.md names every module (docs/architecture.md, "Seams").

Read from the source (ast), not by importing: a module that is never imported by the tests is checked too, and an
import placed inside a function counts like one at the top.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "evalaudit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def modules() -> dict[str, Path]:
    """Every module of the package by its path inside it (``agreement/api.py``; a package is ``agreement/``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        out[rel] = path
    return out


def imported(path: Path) -> set[str]:
    """The evalaudit modules (dotted, ``evalaudit.x.y``) and third-party top-level packages ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_every_module_is_named_in_the_architecture_doc():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = [rel for rel in modules() if f"`{rel}`" not in text]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def test_the_architecture_doc_names_no_module_that_is_gone():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text))
    gone = sorted(n for n in named if n not in modules() and not (ROOT / n).exists())
    assert not gone, f"docs/architecture.md names modules that do not exist: {', '.join(gone)}"


def test_the_stage_contract_imports_nothing_of_the_stages_or_the_run():
    """Context, StageResult and skip are what every stage imports; they may lean on the shared ideas below them
    (config, engine, findings, label space) but never on a stage, the pipeline or the run."""
    shared = ("evalaudit.config", "evalaudit.engine", "evalaudit.findings", "evalaudit.labelspace")
    ours = {m for m in imported(PACKAGE / "stage.py") if m.startswith("evalaudit.")}
    assert all(m.startswith(shared) for m in ours), sorted(m for m in ours if not m.startswith(shared))


#: the orchestrators: run and relabel, the notebooks' session, and gold.rederive (re-runs the items and impact stages)
ORCHESTRATORS = ("run.py", "relabel.py", "pipeline.py", "gold.py")


@pytest.mark.parametrize("rel", [r for r in modules() if r not in ORCHESTRATORS and not r.startswith("notebooks/")])
def test_only_the_orchestrators_import_the_pipeline(rel):
    """Stages take their contract from evalaudit.stage; importing the pipeline would point a layer back up."""
    assert not any(m == "evalaudit.pipeline" or m.startswith("evalaudit.pipeline.")
                   for m in imported(modules()[rel])), f"{rel} imports evalaudit.pipeline"


#: who may import the batch checks: the CLI's check command, the pipeline's gold-set expectations, the batch-gate
#: notebook helpers (and contracts/ itself); the stages take their intervals from evalaudit.intervals
CONTRACT_USERS = ("cli.py", "pipeline.py", "notebooks/batch_gate.py")


@pytest.mark.parametrize("rel", [r for r in modules() if r not in CONTRACT_USERS and not r.startswith("contracts/")])
def test_only_the_check_path_imports_the_contracts_package(rel):
    bad = sorted(m for m in imported(modules()[rel])
                 if m == "evalaudit.contracts" or m.startswith("evalaudit.contracts."))
    assert not bad, f"{rel} imports {', '.join(bad)}: the intervals the stages share live in evalaudit.intervals"


@pytest.mark.parametrize("rel", [r for r in modules() if r != "cli.py"])
def test_only_the_cli_imports_click_rich_or_the_cli(rel):
    names = imported(modules()[rel])
    bad = sorted(m for m in names if m.split(".")[0] in ("click", "rich") or m.startswith("evalaudit.cli"))
    assert not bad, f"{rel} imports {', '.join(bad)}: display and flags belong to evalaudit/cli.py"


#: a command-line flag outside backticks (inside backticks it is a command the user is told to run)
_FLAG = re.compile(r"(?<![\w`-])--[a-z][a-z-]+")


def _error_texts(path: Path) -> list[tuple[int, str]]:
    """The literal text of every ``UnusableInput(...)`` / ``EvalauditError(...)`` message in ``path``."""
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name not in ("UnusableInput", "EvalauditError"):
            continue
        parts = [n.value for n in ast.walk(node.args[0]) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        out.append((node.lineno, "".join(parts)))
    return out


@pytest.mark.parametrize("rel", [r for r in modules() if r != "cli.py"])
def test_library_errors_name_no_command_line_flag(rel):
    """A library error names its parameter (``options``); the CLI adds the flag (evalaudit.cli.FLAGS)."""
    bad = [f"{rel}:{line}: {text}" for line, text in _error_texts(modules()[rel])
           if _FLAG.search(re.sub(r"`[^`]*`", "", text))]
    assert not bad, "\n".join(bad)


def test_the_cli_names_a_flag_for_every_option_a_library_error_can_carry():
    from evalaudit.cli import FLAGS

    used = set()
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "options" and isinstance(node.value, ast.Tuple):
                used.update(e.value for e in node.value.elts if isinstance(e, ast.Constant))
    assert used, "no library error names an option: the scan is broken"
    assert used <= set(FLAGS), sorted(used - set(FLAGS))


def test_code_and_docs_point_to_the_projects_own_docs():
    """A reference to a document a user of the repository does not have (the contract or an issue by number) is a
    dead end; the contract users need lives in docs/ (schema.md, store.md, config.md, cli.md, outputs.md)."""
    dead = re.compile("SPEC" + r" §|\b" + "issues?" + r" #?\d", re.IGNORECASE)
    places = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.sql"), *(ROOT / "docs").rglob("*.md"),
              *(ROOT / "tests").rglob("*.py"), *(ROOT / "tests").rglob("*.md"), *(ROOT / "benchmarks").rglob("*.py"),
              *(ROOT / "benchmarks").rglob("*.md"), *(ROOT / "notebooks").glob("*.py"), ROOT / "README.md"]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in places if "_work" not in p.parts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if dead.search(line)]
    assert not found, "references to documents outside the repository: " + ", ".join(found)


#: the statistics modules: they take arrays, tables and plain numbers (thresholds as arguments) and return arrays,
#: tables and masks. The stage modules read the configuration, run the SQL and write the findings (docs/architecture.md,
#: "Seams": stages → statistics). Not listed, and why: labelers/judgments.py (the working set's data access),
#: labelers/leniency.py (the leniency table's assembly, which reports skips), agreement/patterns.py (loads the
#: patterns through named SQL), agreement/api.py (the Python API: builds an engine over the caller's tables).
STATISTICS = (
    "labelers/severity.py", "labelers/spam.py", "labelers/concentration.py", "labelers/drift.py",
    "labelers/dawid_skene.py", "labelers/combine.py", "labelers/honeypot.py", "labelers/overlap.py",
    "labelers/assignment.py", "labelers/shift.py", "labelers/truth_bias.py", "labelers/reference.py",
    "labelers/evidence.py", "labelers/consensus.py", "agreement/coefficients.py", "agreement/kernels.py",
    "agreement/bootstrap.py", "agreement/categories.py", "contracts/compare.py", "intervals.py", "multiplicity.py",
)
#: what a statistics module must not import: the configuration, findings, the stage contract, the run, the engine
RUN_SIDE = ("evalaudit.config", "evalaudit.findings", "evalaudit.stage", "evalaudit.pipeline", "evalaudit.engine")


@pytest.mark.parametrize("rel", STATISTICS)
def test_statistics_modules_know_nothing_of_config_findings_or_the_run(rel):
    assert rel in modules(), f"{rel} is gone: update STATISTICS"
    bad = sorted(m for m in imported(modules()[rel])
                 if any(m == side or m.startswith(side + ".") for side in RUN_SIDE))
    assert not bad, f"{rel} imports {', '.join(bad)}: statistics take plain numbers; the stage reads config and " \
                    "writes findings"
