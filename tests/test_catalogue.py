"""The sample catalogue file lists exactly the reference ERP's modules and actions."""

from __future__ import annotations

from pathlib import Path

from erpsync.catalogue import REFERENCE_CATALOGUE
from erpsync.policy.loader import load_policy

REPO = Path(__file__).resolve().parent.parent


def test_sample_catalogue_is_the_reference_catalogue() -> None:
    policy = load_policy(REPO / "policies").policy
    written = {key: tuple(module.actions) for key, module in policy.modules.items()}
    assert written == dict(REFERENCE_CATALOGUE)
