"""Schema errors name the object the way a reader would."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.errors import PolicyError
from erpsync.policy.loader import load_policy


def messages(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    return [str(d) for d in info.value.diagnostics]


def test_number_and_boolean_keys_must_be_quoted(tmp_path: Path) -> None:
    found = messages(tmp_path, "users:\n  10023: {name: x}\n  yes: {name: y}\n")
    assert found == [
        f"{tmp_path}/p.yaml:2:3: error: user 10023: key 10023 must be a string: quote it ('10023')",
        f"{tmp_path}/p.yaml:3:3: error: user True: key True must be a string: quote it ('True')",
    ]


def test_unknown_field_of_an_exception_gets_a_hint(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        "sod_exceptions:\n"
        "  - {rule: R, user: li.na, reason: r, approved_by: chen, expiry: 2027-01-01}\n",
    )
    assert found == [
        f"{tmp_path}/p.yaml:2:58: error: sod_exception R/li.na: unknown field 'expiry' "
        "(did you mean 'expires'?)"
    ]
