"""The project configuration, ``erpsync.yaml``: where the policies are, which
ERP databases (targets) to talk to, and the settings that bound what erpsync
may touch.

String values may read the environment: ``${VAR}`` or ``${VAR:-default}``
(``$$`` is a literal ``$``), so passwords stay out of git; in a database URL each
value is encoded for where it stands (:mod:`erpsync.envvars`). A database URL is
only ever shown through :mod:`erpsync.secrets`, which knows the values taken from
the environment into its password and query.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationError

from erpsync import diagnostics as diag
from erpsync import secrets
from erpsync.envvars import interpolate_string, interpolate_url
from erpsync.errors import ConfigError, UsageError
from erpsync.i18n import N_
from erpsync.policy.loader import did_you_mean, schema_diagnostics
from erpsync.policy.model import Key
from erpsync.yamlsafe import YamlList, YamlLoadError, YamlMap, load_file

CONFIG_NAME = "erpsync.yaml"
DEFAULT_ADAPTER = "reference"
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds

__all__ = ["interpolate_string"]  # re-exported: the config's own interpolation

Duration = Annotated[str, StringConstraints(pattern=r"^\d+[mhd]$")]
RoleScope = Literal["all", "declared"]  # which live roles erpsync manages: see ScopeSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    adapter: str = Field(
        DEFAULT_ADAPTER, description="reference | ruoyi | ruoyi-vue-pro | jsherp | tryton"
    )
    url: str = Field(description="SQLAlchemy database URL; use ${VAR} for secrets.")
    connect_timeout: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Seconds to wait for the database to accept a connection "
        "(default: settings.connect_timeout).",
    )
    policies: str | None = Field(
        None,
        description="This target's own policy directory, relative to erpsync.yaml "
        "(default: the top-level policies, shared by every target without one).",
    )
    tenant: str | int | None = Field(
        None,
        description="The tenant this target manages in a multi-tenant ERP (ruoyi-vue-pro, "
        "jsherp), by id or by name: only its rows are read and written. Default: the ERP's "
        "system tenant, or its only one.",
    )


class IgnoreSettings(_Strict):
    users: list[str] = Field(default_factory=list, description="Glob patterns of logins.")
    roles: list[str] = Field(default_factory=list, description="Glob patterns of role keys.")
    departments: list[str] = Field(default_factory=list, description="Glob patterns of keys.")


class ScopeSettings(_Strict):
    departments: list[Key] | None = Field(
        None, description="Manage only these departments and those below them (default: all)."
    )
    roles: RoleScope | None = Field(
        None,
        description="Which live roles erpsync manages: 'all' (a role the policy does not "
        "declare is deleted) or 'declared' (it is left alone and reported as unmanaged). "
        "Default: 'declared' when departments is set or the adapter leaves undeclared roles "
        "alone (tryton), else 'all'.",
    )


class RemovalShare(_Strict):
    """How much of each kind one apply (and the window before it) may remove: the larger
    of ``percent`` of the managed count and ``at_least``."""

    percent: float = Field(20, ge=0, le=100, description="Share of the managed count.")
    at_least: int = Field(
        3, ge=0, description="Removals always allowed, however small the organisation."
    )


RemovalLimit = (
    Annotated[int, Field(ge=0)]
    | Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?%$")]
    | RemovalShare
)


NotifyKind = Literal["dingtalk", "wecom", "feishu", "webhook"]
# Which kinds are signed with a shared secret, and which take extra HTTP headers.
SIGNED_KINDS = ("dingtalk", "feishu")
HEADER_KINDS = ("webhook",)


class Destination(_Strict):
    """One place ``--notify NAME`` posts a summary to: a group robot or a webhook.

    Its URL carries the robot's credential (DingTalk's ``access_token``, WeCom's ``key``,
    Feishu's hook token), so it is a secret like ``secret`` and header values: never
    shown, only named (:mod:`erpsync.notify`)."""

    kind: NotifyKind = Field(
        description="dingtalk (钉钉 custom robot) | wecom (企业微信 group robot) | "
        "feishu (飞书 custom bot) | webhook (any JSON endpoint)."
    )
    url: str = Field(
        min_length=1,
        repr=False,
        description="The robot's webhook URL, from the environment: ${ERPSYNC_DINGTALK_URL}.",
    )
    secret: str | None = Field(
        None,
        min_length=1,
        repr=False,
        description="dingtalk and feishu: the signing secret (加签 / 签名校验), from the "
        "environment.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description="webhook: extra HTTP headers, e.g. Authorization: ${WEBHOOK_TOKEN}.",
    )
    report_url: str | None = Field(
        None, description="Link to the full report for this destination (default: notify's)."
    )


class NotifySettings(_Strict):
    report_url: str | None = Field(
        None,
        description="Where the full report can be read (a CI artifact's URL, e.g. "
        "${CI_JOB_URL}/artifacts/file/drift.html); the message links to it.",
    )
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for each post.")
    destinations: dict[Key, Destination] = Field(
        default_factory=dict, description="Named destinations for --notify NAME."
    )
    # "settings.notify.destinations.ops.url" -> (its unset variables, where it is written):
    # a value naming a variable this environment lacks stays as written and is refused only
    # when that destination is used, so `plan` in a job without the robots' secrets runs.
    _unset: dict[str, tuple[tuple[str, ...], str]] = PrivateAttr(default_factory=dict)

    def unset_variables(self, name: str) -> list[str]:
        """Why destination ``name`` cannot be used here: each value it needs (its own or
        ``report_url``) that names an unset environment variable, with its position."""
        mine = f"settings.notify.destinations.{name}."
        own_link = (
            self.destinations[name].report_url is not None if name in self.destinations else False
        )
        return [
            N_("{where}: environment variable {names} is not set ({path})").format(
                where=where, names=", ".join(names), path=path
            )
            for path, (names, where) in self._unset.items()
            if path.startswith(mine) or (path == "settings.notify.report_url" and not own_link)
        ]


class Settings(_Strict):
    removed_users: Literal["deactivate", "delete"] = "deactivate"
    protected_users: list[str] = Field(
        default_factory=list, description="Logins never created, changed or removed."
    )
    protected_roles: list[str] = Field(
        default_factory=list, description="Role keys never created, changed or removed."
    )
    ignore: IgnoreSettings = Field(default_factory=IgnoreSettings)
    scope: ScopeSettings | None = None
    max_removals: RemovalLimit = Field(
        default_factory=RemovalShare,
        description="Refuse a plan removing more of any kind (users deactivated or "
        "deleted, roles, departments, permission grants, memberships) than this: a number, "
        "a share of the managed count ('20%'), or {percent: 20, at_least: 3} (the default). "
        "Override with --allow-mass-removal.",
    )
    max_removals_window: Duration = Field(
        "24h",
        description="Removals applied this long before (read from the audit trail) count "
        "against max_removals too, so splitting a removal does not pass it: '24h', '90m', "
        "'7d'; '0h' counts the one apply only.",
    )
    max_file_mib: int = Field(50, ge=1, description="Size limit of one policy file.")
    language: Literal["en", "zh-CN"] | None = Field(
        None,
        description="Language of the output for people (en, zh-CN); --lang overrides it. "
        "Unset: the locale's (LANG=zh_CN.UTF-8: Chinese), else English.",
    )
    dormant_days: int | None = Field(
        90,
        ge=1,
        description="drift lists active users with no sign-in for this many days (from the "
        "ERP's own records; erpsync report dormant lists them too); null: no such section.",
    )
    connect_timeout: float = Field(
        DEFAULT_CONNECT_TIMEOUT,
        gt=0,
        le=3600,
        description="Seconds every command waits for a database to accept a connection.",
    )
    state_url: str | None = Field(
        None, description="Database for erpsync's own tables (default: the ERP database)."
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings,
        description="Group robots and webhooks `drift --notify NAME` and `review status "
        "--notify NAME` post a short summary to (docs/notifications.md).",
    )
    # setting -> where erpsync.yaml sets it (filled by load_config), for messages
    _where: dict[str, diag.Position] = PrivateAttr(default_factory=dict)

    def position(self, name: str) -> diag.Position | None:
        """Where erpsync.yaml sets ``settings.<name>``; None when it is not set there."""
        return self._where.get(name)


class Config(_Strict):
    policies: str = Field("policies", description="Policy directory, relative to this file.")
    targets: dict[Key, Target] = Field(default_factory=dict)
    default_target: Key | None = None
    settings: Settings = Field(default_factory=Settings)
    # where in erpsync.yaml ("targets.prod.url") -> the environment values placed in that
    # URL's password or query (filled by load_config), for hiding them in every message
    _url_secrets: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)

    def url_secrets(self, where: str) -> tuple[str, ...]:
        return self._url_secrets.get(where, ())


@dataclass(frozen=True)
class ResolvedTarget:
    name: str
    adapter: str
    url: str
    # What messages must hide: the environment values in the URL; the URL's own password
    # and secret parameters are added here.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    tenant: str | None = None  # as erpsync.yaml names it (an id or a name); None: the default

    def __post_init__(self) -> None:
        found = tuple(dict.fromkeys((*self.secrets, *secrets.url_secrets(self.url))))
        object.__setattr__(self, "secrets", found)
        secrets.remember(found)

    def __repr__(self) -> str:  # never the URL as written
        tenant = "" if self.tenant is None else f", tenant={self.tenant!r}"
        return f"ResolvedTarget({self.name!r}, {self.adapter!r}, {self.display_url!r}{tenant})"

    @property
    def display_url(self) -> str:
        return secrets.redact_url(self.url, self.secrets)

    def redact(self, text: str) -> str:
        """``text`` (a driver's message) without this target's secrets."""
        return secrets.redact(text, self.secrets)


@dataclass(frozen=True)
class Project:
    """A loaded configuration and the directory it belongs to."""

    config: Config
    root: Path
    path: Path | None = None  # None: no erpsync.yaml was found; defaults apply

    @property
    def policy_dir(self) -> Path:
        """The shared policy directory: that of every target without its own."""
        return self.root / self.config.policies

    def policy_dir_for(self, target: ResolvedTarget | str | None = None) -> Path:
        """The policy directory of ``target`` (a resolved target or a name; None: the
        default target): its own ``policies:`` when it names one, else the shared one.
        A target erpsync.yaml does not define (``--db`` alone) uses the shared one."""
        name = target.name if isinstance(target, ResolvedTarget) else self._name(target)
        found = self.config.targets.get(name) if name is not None else None
        if found is None or found.policies is None:
            return self.policy_dir
        return self.root / found.policies

    def policy_dirs(self) -> dict[Path, list[str]]:
        """Every distinct policy directory -> the targets using it, in erpsync.yaml's order
        (the shared directory alone, with no targets, when erpsync.yaml defines none)."""
        dirs: dict[Path, list[str]] = {}
        for name in self.config.targets:
            dirs.setdefault(self.policy_dir_for(name), []).append(name)
        return dirs or {self.policy_dir: []}

    def has_target_policies(self) -> bool:
        """Whether some target names its own policy directory."""
        return any(t.policies is not None for t in self.config.targets.values())

    def _name(self, name: str | None) -> str | None:
        """``name``, or the default target's, or the only target's; None without one."""
        targets = self.config.targets
        name = name or self.config.default_target
        if name is None and len(targets) == 1:
            name = next(iter(targets))
        return name

    def target(self, name: str | None = None, db_url: str | None = None) -> ResolvedTarget:
        """The named (or default) target; ``db_url`` (``--db``) overrides its URL."""
        targets = self.config.targets
        name = self._name(name)
        timeout = self.config.settings.connect_timeout
        if name is None:
            if db_url:
                return ResolvedTarget("cli", DEFAULT_ADAPTER, db_url, connect_timeout=timeout)
            raise UsageError(N_("no target: give --target NAME or --db URL, or set default_target"))
        if name not in targets:
            if db_url:
                return ResolvedTarget(name, DEFAULT_ADAPTER, db_url, connect_timeout=timeout)
            hint = did_you_mean(name, targets)
            defined = ", ".join(sorted(targets))
            if not defined:
                message = N_("unknown target '{name}'; erpsync.yaml defines: none")
            elif hint:
                message = N_("unknown target '{name}'{detail}; erpsync.yaml defines: {targets}")
            else:
                message = N_("unknown target '{name}'; erpsync.yaml defines: {targets}")
            raise UsageError(message.format(name=name, detail=hint, targets=defined))
        target = targets[name]
        return ResolvedTarget(
            name,
            target.adapter,
            db_url or target.url,
            () if db_url else self.config.url_secrets(f"targets.{name}.url"),
            target.connect_timeout or timeout,
            None if target.tenant is None else str(target.tenant),
        )


def find_config(start: Path) -> Path | None:
    """The nearest erpsync.yaml in ``start`` or a directory above it."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_project(config_path: Path | None = None, cwd: Path | None = None) -> Project:
    """Load ``config_path``, or the erpsync.yaml found from ``cwd`` upwards, or defaults."""
    cwd = cwd or Path.cwd()
    path = config_path or find_config(cwd)
    if path is None:
        return Project(Config(), cwd, None)
    return Project(load_config(path), path.parent, path)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    name = str(path)
    try:
        raw = load_file(path)
    except YamlLoadError as exc:
        where = diag.Position(name, *(exc.mark or (0, 0)))
        raise ConfigError(
            N_("{where}: error: {message}").format(where=where, message=exc.message)
        ) from None
    if raw is None:
        raw = YamlMap()
    problems: list[diag.Diagnostic] = []
    found: dict[str, tuple[str, ...]] = {}
    unset: dict[str, tuple[tuple[str, ...], str]] = {}
    raw = _interpolate(raw, os.environ if env is None else env, name, problems, found, unset=unset)
    if not problems:
        try:
            config = Config.model_validate(raw)
        except ValidationError as exc:
            problems.extend(schema_diagnostics(exc, name, raw, Config, ("targets",)))
        else:
            _remember_positions(config, raw, name)
            config._url_secrets.update(found)
            config.settings.notify._unset.update(unset)
            problems.extend(_tenant_problems(config, raw, name))
            problems.extend(_notify_problems(config, raw, name))
            if not problems:
                return config
    listed = diag.ordered(problems)
    # The message is data, in English; its lines are not said as one (a view says each of
    # the ConfigError's diagnostics instead).
    shown = diag.to_text(listed, say=False).rstrip()
    raise ConfigError(N_("invalid configuration:\n{diagnostics}").format(diagnostics=shown), listed)


def _remember_positions(config: Config, raw: Any, file: str) -> None:
    """Record where each setting is written, so that a message about one can point at it."""
    settings = raw.get("settings") if isinstance(raw, YamlMap) else None
    if isinstance(settings, YamlMap):
        for key, (line, col) in settings.key_marks.items():
            config.settings._where[str(key)] = diag.Position(file, line, col)


def _tenant_problems(config: Config, raw: Any, file: str) -> list[diag.Diagnostic]:
    """A ``tenant:`` on a target whose adapter has no tenants, at its line."""
    from erpsync.adapters import ADAPTERS, adapter_class  # cheap: no SQLAlchemy on import

    problems = []
    for name, target in config.targets.items():
        if target.tenant is None or target.adapter not in ADAPTERS:
            continue  # an unknown adapter is reported where it is used
        if adapter_class(target.adapter).capabilities.tenants:
            continue
        entry = raw["targets"][name]
        where = diag.Position(file, *entry.key_marks["tenant"])
        having = [n for n in sorted(ADAPTERS) if adapter_class(n).capabilities.tenants]
        message = N_(
            "target {name}: the {adapter} adapter has no tenants; remove 'tenant' "
            "(adapters with tenants: {adapters})"
        ).format(name=name, adapter=target.adapter, adapters=", ".join(having) or "none")
        problems.append(diag.error("config", where, name, message))
    return problems


def _notify_problems(config: Config, raw: Any, file: str) -> list[diag.Diagnostic]:
    """A ``secret`` or ``headers`` on a destination whose kind takes none, at its line."""
    problems = []
    entries = (
        raw["settings"]["notify"]["destinations"] if config.settings.notify.destinations else {}
    )
    for name, dest in config.settings.notify.destinations.items():
        entry = entries[name]
        wrong = []
        if dest.secret is not None and dest.kind not in SIGNED_KINDS:
            wrong.append(
                (
                    "secret",
                    N_(
                        "a {kind} robot is not signed; remove 'secret' (signed kinds: {kinds})"
                    ).format(kind=dest.kind, kinds=", ".join(SIGNED_KINDS)),
                )
            )
        if dest.headers and dest.kind not in HEADER_KINDS:
            wrong.append(
                (
                    "headers",
                    N_(
                        "a {kind} robot takes no headers; remove 'headers' (kinds with "
                        "headers: {kinds})"
                    ).format(kind=dest.kind, kinds=", ".join(HEADER_KINDS)),
                )
            )
        for field_name, why in wrong:
            where = diag.Position(file, *entry.key_marks[field_name])
            problems.append(diag.error("config", where, f"notify {name}", why))
    return problems


def _is_url(path: tuple[str, ...]) -> bool:
    """Whether the value at ``path`` in erpsync.yaml is a database URL."""
    return (len(path) == 3 and path[0] == "targets" and path[2] == "url") or path == (
        "settings",
        "state_url",
    )


def _interpolate(
    node: Any,
    env: Mapping[str, str],
    file: str,
    problems: list[diag.Diagnostic],
    found: dict[str, tuple[str, ...]],
    mark: tuple[int, int] = (0, 0),
    path: tuple[str, ...] = (),
    unset: dict[str, tuple[tuple[str, ...], str]] | None = None,
) -> Any:
    """``node`` with ``${VAR}`` replaced; the secrets of each URL go to ``found``; a
    value under ``settings.notify`` naming an unset variable is kept as written and
    goes to ``unset`` (refused when its destination is used, not here)."""
    if isinstance(node, YamlMap):
        for key in list(node):
            node[key] = _interpolate(
                node[key],
                env,
                file,
                problems,
                found,
                node.key_marks[key],
                (*path, str(key)),
                unset,
            )
        return node
    if isinstance(node, YamlList):
        for i, item in enumerate(node):
            node[i] = _interpolate(
                item, env, file, problems, found, node.item_marks[i], (*path, str(i)), unset
            )
        return node
    if not isinstance(node, str) or "$" not in node:
        return node
    where = diag.Position(file, *mark)
    missing: list[str] = []
    if _is_url(path):
        url = interpolate_url(node, env, missing)
        value = url.url
        found[".".join(path)] = tuple(url.secrets)
        for problem in url.problems:
            message = N_("{problem}; it cannot be placed in the URL {path} safely").format(
                problem=problem, path=".".join(path)
            )
            problems.append(diag.error("environment", where, "", message))
    else:
        value = interpolate_string(node, env, missing)
    if missing and unset is not None and path[:2] == ("settings", "notify"):
        unset[".".join(path)] = (tuple(dict.fromkeys(missing)), str(where))
        return node
    for var in missing:
        problems.append(
            diag.error(
                "environment",
                where,
                "",
                N_("environment variable {name} is not set (use {example} for a default)").format(
                    name=var, example=f"${{{var}:-default}}"
                ),
            )
        )
    return value
