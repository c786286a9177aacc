"""Posting one summary to the named destinations: :class:`Notifier`.

The names are resolved when the command starts (a typo fails before the ERP is
read); the posts happen after the report is written. Every destination is tried; the
ones that failed are named together in one :class:`NotifyError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from urllib.parse import unquote, urlsplit

from rich.console import Console

from erpsync import secrets
from erpsync.config import Destination, NotifySettings
from erpsync.errors import UsageError
from erpsync.i18n import N_, _
from erpsync.notify import dingtalk, feishu, webhook, wecom
from erpsync.notify.errors import NotifyError, PlatformRefused
from erpsync.notify.http import post
from erpsync.notify.message import Summary

# How a failed destination is named in NotifyError: "ops (DingTalk (钉钉)): <why>", one per
# line. The platform's label is the literal text that lets a view find the template and say
# the failure in the run's language (:func:`erpsync.i18n.said`); a {detail} is the next
# failure's line.
FAILED = (
    N_("{n} notification failed:\n  {detail}"),
    N_("{n} notifications failed:\n  {detail}"),
    N_("{name} (DingTalk (钉钉)): {problem}"),
    N_("{name} (DingTalk (钉钉)): {problem}\n  {detail}"),
    N_("{name} (WeCom (企业微信)): {problem}"),
    N_("{name} (WeCom (企业微信)): {problem}\n  {detail}"),
    N_("{name} (Feishu (飞书)): {problem}"),
    N_("{name} (Feishu (飞书)): {problem}\n  {detail}"),
    N_("{name} (webhook): {problem}"),
    N_("{name} (webhook): {problem}\n  {detail}"),
)

PLATFORMS: dict[str, ModuleType] = {
    "dingtalk": dingtalk,
    "wecom": wecom,
    "feishu": feishu,
    "webhook": webhook,
}


def destination_secrets(dest: Destination) -> list[str]:
    """What must never be shown of ``dest``: its URL (whole, its path's last part, where
    Feishu keeps the token, and its secret query values), its secret, its header values."""
    found = [dest.url, *secrets.url_secrets(dest.url)]
    path = urlsplit(dest.url).path.rstrip("/")
    last = unquote(path.rsplit("/", 1)[-1]) if "/" in path else ""
    if len(last) >= 8:  # a token, not a word such as "send"
        found.append(last)
    if dest.secret:
        found.append(dest.secret)
    found.extend(v for v in dest.headers.values() if v)
    return found


class Notifier:
    """The destinations ``--notify NAME…`` names, ready to post to."""

    def __init__(self, settings: NotifySettings, names: Sequence[str], console: Console) -> None:
        known = settings.destinations
        unknown = [n for n in dict.fromkeys(names) if n not in known]
        if unknown:
            from erpsync.policy.loader import did_you_mean

            hint = did_you_mean(unknown[0], known)
            defined = ", ".join(sorted(known)) or "none"
            if hint:  # " (did you mean 'ops'?)"
                raise UsageError(
                    N_(
                        "--notify {name}: no such destination{hint}; settings.notify."
                        "destinations in erpsync.yaml defines: {known}"
                    ).format(name=unknown[0], hint=hint, known=defined)
                )
            raise UsageError(
                N_(
                    "--notify {name}: no such destination; settings.notify.destinations in "
                    "erpsync.yaml defines: {known}"
                ).format(name=unknown[0], known=defined)
            )
        for name in dict.fromkeys(names):
            lacking = settings.unset_variables(name)
            if lacking:
                raise UsageError(
                    N_("--notify {name}: {problem}").format(name=name, problem="; ".join(lacking))
                )
        self.settings = settings
        self.names = list(dict.fromkeys(names))
        self.console = console
        self._secrets: list[str] = []
        for name in self.names:
            dest = known[name]
            scheme = urlsplit(dest.url).scheme.lower()
            if scheme not in ("https", "http"):
                raise UsageError(
                    N_(
                        "--notify {name}: its url is not an http(s) URL; check "
                        "settings.notify.destinations.{name}.url in erpsync.yaml"
                    ).format(name=name)
                )
            self._secrets.extend(destination_secrets(dest))
        secrets.remember(self._secrets)

    def __bool__(self) -> bool:
        return bool(self.names)

    def post(self, summary_for: Callable[[str | None], Summary], now: float | None = None) -> None:
        """Post ``summary_for(report_url)`` to each destination; say which took it; raise
        :class:`NotifyError` naming every one that did not."""
        failed: list[str] = []
        for name in self.names:
            dest = self.settings.destinations[name]
            platform = PLATFORMS[dest.kind]
            summary = summary_for(dest.report_url or self.settings.report_url)
            try:
                platform.check(post(platform.request(dest, summary, now), self.settings.timeout))
            except PlatformRefused as exc:
                failed.append(f"{name} ({platform.LABEL}): {self._hide(str(exc))}")
                continue
            self.console.print(
                _("Notified {name} ({platform}).").format(name=name, platform=platform.LABEL),
                markup=False,
            )
        if failed:
            head = FAILED[0] if len(failed) == 1 else FAILED[1]
            raise NotifyError(head.format(n=len(failed), detail="\n  ".join(failed)))

    def _hide(self, text: str) -> str:
        return secrets.redact(text, self._secrets)
