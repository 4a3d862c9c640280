"""Documentation generated from the engines' declarations: the README option table and the ``-b`` help.

Nothing here is written by hand per engine, so the docs cannot drift from the schemas. The README holds
`options_markdown()` between `START` and `END`; a test fails when they differ (regenerate with
``python -m infbench.engines.docs --write README.md``).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from infbench.engines.info import EngineInfo
from infbench.engines.options import value_text
from infbench.engines.registry import BUILTIN, engine_info, engine_names
from infbench.errors import BackendUnavailable

log = logging.getLogger(__name__)

START = "<!-- options:start -->"
END = "<!-- options:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _names(info: EngineInfo) -> str:
    return f"`{info.name}`" + (f" ({', '.join(f'`{a}`' for a in info.aliases)})" if info.aliases else "")


def engine_markdown(info: EngineInfo) -> str:
    """One engine's section: its names, what it is, which global flags reach it, and its option table."""
    lines = [f"**{_names(info)}**: {info.description}."]
    flags = [
        f"`{flag}` → `{name}`"
        for flag, name in (
            ("--threads", info.thread_option),
            ("--inter-threads", info.inter_thread_option),
            ("--device", info.device_option),
        )
        if name
    ]
    if flags:
        lines[0] += " Global flags: " + ", ".join(flags) + "."
    if info.roles:
        lines[0] += " Roles: " + ", ".join(info.roles) + "."
    if not len(info.options):
        return lines[0] + " No options.\n"
    lines += ["", "| option | value | default | what it sets |", "|---|---|---|---|"]
    for o in info.options:
        default = "backend's own" if o.default is None else f"`{value_text(o.default)}`"
        lines.append(f"| `{o.name}` | {_cell(o.type_text)} | {default} | {_cell(o.help)} |")
    return "\n".join(lines) + "\n"


def options_markdown() -> str:
    """The option tables of every built-in engine, in registry order (the README's option section)."""
    intro = (
        "Options go after a colon, comma separated: `-b ort:threads=2,graph_opt=basic`. A list value joins its "
        "items with `+` (`ort:providers=cuda+cpu`). Unknown options and bad values are refused before anything "
        "starts, naming the valid ones.\n"
    )
    return intro + "\n" + "\n".join(engine_markdown(engine_info(n)) for n in BUILTIN)


def backend_help() -> str:
    """The ``-b`` help: every registered engine with its aliases and option names (from the registry)."""
    parts = []
    for name in engine_names():
        try:
            info = engine_info(name)
        except BackendUnavailable as exc:  # a broken plugin must not break --help
            log.warning("%s", exc)
            continue
        names = "/".join((info.name, *info.aliases))
        opts = ", ".join(info.options.names) or "no options"
        parts.append(f"{names} [{opts}]")
    return "; ".join(parts)


def replace_section(text: str, section: str) -> str:
    """`text` with what lies between the START and END markers replaced by `section`.

    Raises:
        ValueError: the markers are missing.
    """
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {START} … {END} section")
    return pattern.sub(lambda _m: f"{START}\n{section}{END}", text, count=1)


def readme_section(text: str) -> str | None:
    """What lies between the markers of `text` (None without markers)."""
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def main(argv: list[str] | None = None) -> int:
    """``python -m infbench.engines.docs [--write README.md]``: print the option section, or rewrite it."""
    parser = argparse.ArgumentParser(description="print or rewrite the README's engine option section")
    parser.add_argument("--write", metavar="README", help="replace the section between the markers there")
    args = parser.parse_args(argv)
    section = options_markdown()
    if args.write:
        path = Path(args.write)
        path.write_text(replace_section(path.read_text(), section))
    else:
        sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
