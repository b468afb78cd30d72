"""Generate docs/cli.md (from each command's --help and the exit codes), docs/schema.md (from evalaudit/schema.py)
and docs/config.md (from evalaudit/config.py).

Run with `make docs`; tests/test_docs.py fails when the committed files differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalaudit import schema
from evalaudit.cli import EXIT_CODES, main

DOCS = Path(__file__).resolve().parent


def cli_markdown() -> str:
    out = ["# Command reference", "", "Generated from `evalaudit --help` by `docs/generate.py`; do not edit.", "",
           "## Exit codes", "", "| code | meaning |", "|---|---|",
           *[f"| {code} | {text} |" for code, text in EXIT_CODES], ""]
    # the group's own context settings (help option names ...), as when the command really runs: click caches a
    # command's help option on first use, so a bare Context would make the output depend on what ran before
    settings = {**main.context_settings, "max_content_width": 100, "terminal_width": 100}
    ctx = click.Context(main, info_name="evalaudit", **settings)
    out += ["```", main.get_help(ctx), "```", ""]
    for name in sorted(main.list_commands(ctx)):
        cmd = main.get_command(ctx, name)
        sub = click.Context(cmd, info_name=name, parent=ctx, **settings)
        out += [f"## evalaudit {name}", "", "```", cmd.get_help(sub), "```", ""]
    return "\n".join(out)


def schema_markdown() -> str:
    return "\n".join(["# Canonical tables", "",
                      "Generated from `evalaudit/schema.py` by `docs/generate.py`; do not edit. Timestamps are "
                      "UTC `timestamp[us, tz=UTC]`. Provenance columns are added by evalaudit, never taken "
                      "from the user.", "", schema.describe()])


def _field_comments(cls: type) -> dict[str, str]:
    """The `#:` comment lines above each field of a config dataclass, read from its source."""
    import inspect

    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines()[1:]:
        text = line.strip()
        if text.startswith("#:"):
            pending.append(text[2:].strip())
        elif ":" in text and not text.startswith(("#", '"', "def ", "@")):
            comments[text.split(":", 1)[0].strip()] = " ".join(pending)
            pending = []
        else:
            pending = []
    return comments


def config_markdown() -> str:
    import dataclasses

    from evalaudit import config

    out = ["# Configuration: evalaudit.toml", "",
           "Generated from `evalaudit/config.py` by `docs/generate.py`; do not edit. Pass the file with "
           "`--config`; without it every default below applies. An unknown section or key is an error naming it.",
           "",
           "Every value is checked for type and range in one pass, and every problem is listed in one message "
           "(exit 2): whole numbers are counts (never negative; `min_items`, `bootstrap`, `ds_max_iter` and the "
           "like at least 1), shares and rates lie in [0, 1], q-value cut-offs in (0, 1], confidence levels in "
           "(0, 1), agreement coefficients in [-1, 1], a `..._medium` threshold may not exceed its `..._high`, "
           f"`seed` lies in [0, {2**32 - 1}], `memory_limit` is a size of at least 64MB (or empty). Labels are "
           "strings (`values = [\"1\", \"2\"]`, in quotes). Where a date is meant (`as_of`, `window_start`, "
           "`window_end`) a TOML date or date-time (`as_of = 2024-06-01`) is accepted as well as ISO 8601 text.",
           "",
           "## Environment variables", "",
           "Checked the same way, listed with the config's problems.", "",
           "| variable | meaning |", "|---|---|",
           *[f"| `{k}` | {v} |" for k, v in config.ENVIRONMENT.items()],
           ""]
    for section in dataclasses.fields(config.Config):
        if section.name == "source":
            continue
        cls = section.default_factory  # type: ignore[misc]
        docs = _field_comments(cls)
        out += [f"## [{section.name}]", "", "| key | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            shown = "(unset)" if default is None else repr(default).replace("'", '"')
            out.append(f"| `{f.name}` | `{shown}` | {docs.get(f.name, '')} |")
        out.append("")
    return "\n".join(out)


FILES = {"cli.md": cli_markdown, "schema.md": schema_markdown, "config.md": config_markdown}

if __name__ == "__main__":
    for name, make in FILES.items():
        (DOCS / name).write_text(make(), encoding="utf-8")
        print(f"wrote docs/{name}", file=sys.stderr)
