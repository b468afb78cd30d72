"""Docs that cannot drift: generated references match the code, every command is documented."""

from __future__ import annotations

import pytest

from docs.generate import DOCS, FILES
from evalaudit.cli import main
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(FILES))
def test_generated_docs_are_current(name):
    assert (DOCS / name).read_text() == FILES[name](), f"docs/{name} is stale: run `make docs`"


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, cmd in main.commands.items():
        assert cmd.help and len(cmd.help.strip()) > 20, f"`evalaudit {name}` needs --help text"
        assert f"evalaudit {name}" in readme, f"README does not mention `evalaudit {name}`"


def test_readme_links_resolve():
    import re

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)\)", readme):
        assert (ROOT / target).exists(), f"README links to missing {target}"
