"""Report sections that follow the results table: one module per feature that has more to say than a row.

A section module (listed in `SECTION_MODULES`) defines ``print_section(console, report)`` (Rich; prints nothing
when the report has nothing for it) and ``section_markdown(report) -> str`` (``""`` when nothing). The headless
run and `report` print every section after the analysis, in this order, so adding a section is one module, its
test and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from infbench.analysis.report_model import Report

SECTION_MODULES: tuple[str, ...] = (
    "infbench.report.wrappers",
    "infbench.report.stages",
    "infbench.report.corpus",
    "infbench.report.generation",
)


def print_sections(console: Any, report: Report) -> None:
    """Print every section that has something to say about `report`."""
    for name in SECTION_MODULES:
        importlib.import_module(name).print_section(console, report)


def sections_markdown(report: Report) -> str:
    """Every non-empty section as Markdown, separated by blank lines (``""`` when none has anything)."""
    parts = [importlib.import_module(name).section_markdown(report) for name in SECTION_MODULES]
    return "\n".join(p.rstrip() + "\n" for p in parts if p)
