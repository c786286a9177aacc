"""A CODEOWNERS section from the ``owners`` of departments and roles.

The mapping is by file, because that is what CODEOWNERS can express. A policy file is
owned by the union of the owners of what it declares:

- a role: the role's ``owners``;
- a department: its ``owners``, or, when it has none, those of its nearest ancestor
  that has some (a department head reviews the sub-departments too);
- a user: the owners of the user's department, found the same way.

The loader's origins say which file declares which object. A file whose objects have
no owners gets no rule, so whatever the rest of CODEOWNERS says applies to it. A file
that mixes objects of different owners is owned by all of them (any one of them may
approve, as in every CODEOWNERS rule); :func:`build` warns about such files, because
one file per department (``users/finance.yaml``) and per area of roles gives each head
exactly their own department's changes to review.

The section sits between two marker comments. Everything outside them is kept as it
was; a new section goes at the end of the file, because in CODEOWNERS the last
matching rule wins and these rules are the most specific.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from erpsync import diagnostics as diag
from erpsync.errors import UsageError
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy
from erpsync.policy.model import Department

BEGIN = "# BEGIN erpsync codeowners"
END = "# END erpsync codeowners"
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # GitHub's search order
OWNER = re.compile(
    r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?$"  # @user, @org/team
    r"|^[^@\s]+@[^@\s]+\.[^@\s]+$"  # an e-mail address
)
_SPECIAL = re.compile(r"([\\ *?\[\]!#])")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: a file (relative to the repository root) and its owners."""

    path: str
    owners: tuple[str, ...]

    def line(self) -> str:
        path = _SPECIAL.sub(r"\\\1", self.path)  # spaces and glob characters escaped
        return f"/{path} {' '.join(self.owners)}"


@dataclass
class Section:
    rules: list[Rule] = field(default_factory=list)
    problems: list[diag.Diagnostic] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def default_path(root: Path) -> Path:
    """The existing CODEOWNERS GitHub would read in ``root``, else ``root/.github/CODEOWNERS``."""
    for location in LOCATIONS:
        if (root / location).is_file():
            return root / location
    return root / LOCATIONS[0]


def repository_root(codeowners: Path) -> Path:
    """The directory the paths in ``codeowners`` are relative to."""
    parent = codeowners.absolute().parent
    return parent.parent if parent.name in (".github", "docs") else parent


def department_owners(departments: Mapping[str, Department]) -> dict[str, tuple[str, ...]]:
    """Each department's own owners, or its nearest ancestor's (cycles end the walk)."""
    found: dict[str, tuple[str, ...]] = {}
    for key in departments:
        seen: set[str] = set()
        current: str | None = key
        owners: tuple[str, ...] = ()
        while current is not None and current in departments and current not in seen:
            seen.add(current)
            if departments[current].owners:
                owners = tuple(departments[current].owners)
                break
            current = departments[current].parent
        found[key] = owners
    return found


def build(loaded: LoadedPolicy, root: Path) -> Section:
    """The rules for every policy file that declares something with owners."""
    policy, section = loaded.policy, Section()
    section.problems = list(_bad_owners(loaded))
    inherited = department_owners(policy.departments)
    groups: dict[str, list[tuple[str, ...]]] = {}  # file -> owner set of each object

    def own(kind: str, key: str, owners: tuple[str, ...]) -> None:
        origin = loaded.origins.get((kind, key))
        if origin is not None:
            groups.setdefault(origin.file, []).append(owners)

    for key, role in policy.roles.items():
        own("roles", key, tuple(role.owners))
    for key in policy.departments:
        own("departments", key, inherited[key])
    for login, user in policy.users.items():
        own("users", login, inherited.get(user.department or "", ()))
    for file in sorted(groups, key=lambda f: _relative(f, root)):
        owner_sets = groups[file]
        owners = tuple(sorted({o for owners in owner_sets for o in owners}, key=str.casefold))
        if not owners:
            continue
        path = _relative(file, root)
        section.rules.append(Rule(path, owners))
        distinct = set(owner_sets)
        if len(distinct) > 1:
            template = _MIXED_OWNERS_SOME_NONE if () in distinct else _MIXED_OWNERS
            section.warnings.append(
                template.format(path=path, n=len(distinct), owners=", ".join(owners))
            )
    return section


# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said). The CODEOWNERS file itself stays English (GitHub reads it).
_MIXED_OWNERS = N_(
    "{path} declares objects of {n} different owner groups; any of {owners} may approve a "
    "change to it. One file per department (and per area of roles) narrows each review to "
    "its owners."
)
_MIXED_OWNERS_SOME_NONE = N_(
    "{path} declares objects of {n} different owner groups (some with none); any of {owners} "
    "may approve a change to it. One file per department (and per area of roles) narrows "
    "each review to its owners."
)


def _bad_owners(loaded: LoadedPolicy) -> Iterable[diag.Diagnostic]:
    policy = loaded.policy
    for section, items in (("departments", policy.departments), ("roles", policy.roles)):
        noun = "department" if section == "departments" else "role"
        for key, obj in items.items():
            for index, owner in enumerate(obj.owners):
                if not OWNER.match(owner):
                    yield diag.error(
                        "owners",
                        loaded.position(section, key, "owners", index),
                        f"{noun} {key}",
                        N_(
                            "owners[{index}]: {owner} is not a GitHub owner (@user, @org/team "
                            "or an e-mail address)"
                        ).format(index=index, owner=repr(owner)),
                    )


def _relative(file: str, root: Path) -> str:
    path = Path(file).absolute()
    try:
        return path.relative_to(root.absolute()).as_posix()
    except ValueError:
        raise UsageError(
            N_(
                "policy file {file} is not inside the repository {root}, where CODEOWNERS is"
            ).format(file=file, root=root)
        ) from None


def render(rules: Iterable[Rule]) -> str:
    """The section, markers included, ending with a newline."""
    lines = [
        BEGIN + " (written by `erpsync codeowners`; edits inside are replaced)",
        "# A policy file is owned by the owners of the departments and roles it declares;",
        "# a user counts for its department, a department without owners for its parent.",
        *(rule.line() for rule in rules),
        END,
    ]
    return "\n".join(lines) + "\n"


def merge(existing: str | None, section: str) -> str:
    """``existing`` with its erpsync section replaced by ``section`` (or it appended)."""
    if not existing:
        return section
    lines = existing.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == END]
    if not begins and not ends:
        text = existing if existing.endswith("\n") else existing + "\n"
        return text + ("" if text.endswith("\n\n") else "\n") + section
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise UsageError(
            N_(
                "CODEOWNERS has {begins} '{begin}' and {ends} '{end}' lines; expected one of "
                "each, in that order: fix them by hand, then rerun"
            ).format(begins=len(begins), begin=BEGIN, ends=len(ends), end=END)
        )
    return "".join(lines[: begins[0]]) + section + "".join(lines[ends[0] + 1 :])
