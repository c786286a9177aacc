"""The JSON view of a report: its ``to_dict()`` form, as the other views read it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_view(doc: Mapping[str, Any]) -> str:
    """Indented JSON, Chinese kept readable, ending in a newline."""
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
