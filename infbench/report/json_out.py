"""The JSON output of a report: `Report.to_json_dict()` (schema `report_model.SCHEMA_VERSION`) as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_default(obj: Any) -> Any:
    """`json.dumps` default for numpy values and objects with ``to_json_dict()`` / ``to_dict()``."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    for name in ("to_json_dict", "to_dict"):
        method = getattr(obj, name, None)
        if callable(method):
            return method()
    return str(obj)


def json_text(report: Any) -> str:
    """A typed `Report` (or a JSON-ready mapping built from one, e.g. with a sweep added) as indented JSON."""
    data = report if isinstance(report, Mapping) else report.to_json_dict()
    return json.dumps(data, indent=2, default=json_default) + "\n"
