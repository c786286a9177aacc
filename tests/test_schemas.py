"""The published JSON Schemas match the models, and the sample policies obey them."""

from __future__ import annotations

import json
from pathlib import Path

from erpsync.schema_export import schema_documents

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_schemas_are_up_to_date() -> None:
    for name, text in schema_documents().items():
        path = SCHEMAS / name
        assert path.exists(), f"{path} missing: run `make schemas`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make schemas`"


def test_policy_schema_forbids_unknown_fields() -> None:
    schema = json.loads((SCHEMAS / "policy.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["User"]["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "modules",
        "departments",
        "roles",
        "users",
        "sod_rules",
        "sod_exceptions",
        "moved",
    }
    assert schema["$defs"]["Moved"]["required"] == ["kind", "from", "to"]
