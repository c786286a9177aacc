"""Write the JSON Schemas of the policy and configuration files.

Run ``python -m erpsync.schema_export schemas/`` (``make schemas``) after
changing a model; a test fails while the files in ``schemas/`` are stale.
Editors that speak the YAML language server complete and check policy files
that start with ``# yaml-language-server: $schema=<path>/policy.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from erpsync.config import Config
from erpsync.plan_schema import PlanDocument
from erpsync.policy.model import PolicyDocument

BASE_URL = "https://erpsync.dev/schemas"

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "policy.schema.json": (PolicyDocument, "erpsync policy file (policies/*.yaml)"),
    "config.schema.json": (Config, "erpsync project configuration (erpsync.yaml)"),
    "plan.schema.json": (PlanDocument, "erpsync plan (erpsync plan --format json / --out)"),
}


def schema_documents() -> dict[str, str]:
    """File name -> the schema's JSON text, deterministic."""
    out = {}
    for name, (model, title) in SCHEMAS.items():
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_URL}/{name}",
            **model.model_json_schema(),
        }
        schema["title"] = title
        out[name] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return out


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(f"wrote {written_path}")
