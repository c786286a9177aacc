"""What an access review lists and what comes back: plain data, no I/O.

A campaign gives each reviewer one :class:`Sheet`. Its :class:`Line` s are the accesses
the reviewer certifies: for each of their people an ``account`` line (the account
itself: keep it, revoke it = deactivate, or expire it on a date) and one ``role`` line
per role held (keep or revoke). A sheet records its campaign, its reviewer and a
:meth:`Sheet.digest` of everything it lists, so a returned sheet is matched to what was
sent and an edit outside the decision cells is found.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Literal

Decision = Literal["keep", "revoke", "expire"]
LineKind = Literal["account", "role"]

ACCOUNT_DECISIONS: tuple[Decision, ...] = ("keep", "revoke", "expire")
ROLE_DECISIONS: tuple[Decision, ...] = ("keep", "revoke")

# The columns of a sheet, in order: what is listed (read-only), then what the reviewer
# fills in. Sheet writers and readers use exactly these headers.
LISTED_COLUMNS: tuple[str, ...] = (
    "line",
    "kind",
    "login",
    "name",
    "department",
    "role",
    "role_name",
    "risk",
    "high_risk_permissions",
    "since_last_review",
)
DECISION_COLUMNS: tuple[str, ...] = ("decision", "expires", "comment")


@dataclass(frozen=True)
class Line:
    """One access to certify. ``role`` is None on an account line."""

    number: int  # 1-based, the order of the sheet
    kind: LineKind
    login: str
    name: str
    department: str  # the department's name (and key), "" for none
    role: str | None = None  # the role key
    role_name: str = ""
    risk: str = ""  # the role's risk and the SoD rules it touches ("high; SOD-P2P-01")
    high_risk_permissions: str = ""  # "; "-joined permission codes
    since_last_review: str = ""  # "new", "role added", "" when unchanged

    @property
    def allowed(self) -> tuple[Decision, ...]:
        return ACCOUNT_DECISIONS if self.kind == "account" else ROLE_DECISIONS

    def listed(self) -> tuple[str, ...]:
        """The listed cells as text, in LISTED_COLUMNS order (what a reviewer must not
        change)."""
        return (
            str(self.number),
            self.kind,
            self.login,
            self.name,
            self.department,
            self.role or "",
            self.role_name,
            self.risk,
            self.high_risk_permissions,
            self.since_last_review,
        )


@dataclass(frozen=True)
class Sheet:
    """The lines one reviewer certifies in one campaign."""

    campaign: str
    reviewer: str  # a login (a department manager) or an owner handle ("@org/team")
    reviewer_name: str
    scope: Literal["department", "role"]
    started: dt.date
    due: dt.date | None
    lines: tuple[Line, ...]

    def digest(self) -> str:
        """sha256 of the campaign, the reviewer and every listed cell."""
        body = {
            "campaign": self.campaign,
            "reviewer": self.reviewer,
            "lines": [list(line.listed()) for line in self.lines],
        }
        text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def file_stem(self) -> str:
        """The file name (without suffix) of this reviewer's sheet: the reviewer, with
        characters a file name cannot hold replaced."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.reviewer)
        stem = safe.strip("._") or "reviewer"
        if safe != self.reviewer:  # two handles could fold to one name: tell them apart
            stem += "-" + hashlib.sha256(self.reviewer.encode("utf-8")).hexdigest()[:6]
        return stem


@dataclass(frozen=True)
class Answer:
    """A reviewer's decision on one line; ``decision`` None: not decided yet."""

    line: int
    decision: Decision | None
    expires: dt.date | None = None
    comment: str = ""


@dataclass(frozen=True)
class Filled:
    """A returned sheet, checked against the one that was sent."""

    source: str  # the file it was read from
    campaign: str
    reviewer: str
    digest: str
    answers: tuple[Answer, ...]

    @property
    def decided(self) -> int:
        return sum(1 for a in self.answers if a.decision is not None)
