"""Which roles a plan flags for reviewers: high or critical risk, or under a SoD rule."""

from __future__ import annotations

import datetime as dt

from erpsync.plan import Action, Change, Kind, Plan, RoleNote, Target
from erpsync.policy.model import PolicyDocument
from erpsync.roles_of_note import roles_of_note
from erpsync.state import State

POLICY = PolicyDocument.model_validate(
    {
        "roles": {
            "payer": {"name": "付款", "risk": "critical", "permissions": ["finance.payment:pay"]},
            "approver": {"name": "审批", "risk": "medium"},
            "clerk": {"name": "文员", "risk": "high"},
            "viewer": {"name": "查看"},
        },
        "sod_rules": {
            "pay-vs-approve": {
                "description": "who pays does not approve",
                "severity": "high",
                "conflicts": [["finance.payment:pay"], ["finance.payment:approve"]],
            }
        },
    }
)


def test_touched_high_risk_and_sod_roles_are_noted() -> None:
    desired = State(grants=frozenset({("payer", "finance.payment:pay")}))
    live = State(grants=frozenset({("approver", "finance.payment:*")}))
    changes = [
        Change(Action.GRANT, Kind.PERMISSION, "payer/finance.payment:pay", "declared"),
        Change(Action.REVOKE, Kind.MEMBERSHIP, "li.na/approver", "not declared"),
        Change(Action.CREATE, Kind.ROLE, "viewer", "declared", None, {"name": "查看"}),
    ]
    assert roles_of_note(POLICY, (desired, live), changes) == (
        RoleNote("approver", None, ("pay-vs-approve",)),  # medium risk: SoD only
        RoleNote("payer", "critical", ("pay-vs-approve",)),
    )  # clerk is high-risk but untouched; viewer is neither


def test_roles_of_note_survive_a_saved_plan() -> None:
    note = RoleNote("payer", "critical", ("pay-vs-approve",))
    plan = Plan(
        Target("prod", "memory", "sqlite://"),
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "sha256:" + "a" * 64,
        "sha256:" + "b" * 64,
        changes=(Change(Action.CREATE, Kind.ROLE, "payer", "declared", None, {"name": "付款"}),),
        roles_of_note=(note,),
    )
    data = plan.to_dict()
    assert data["roles_of_note"] == {"payer": {"risk": "critical", "sod_rules": ["pay-vs-approve"]}}
    assert Plan.from_dict(data).roles_of_note == (note,)
    del data["roles_of_note"]  # a plan saved before the field existed still reads
    assert Plan.from_dict(data).roles_of_note == ()
