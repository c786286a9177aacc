"""Redaction: the one way a database URL, or a message that may quote one, is shown.

:func:`redact` hides, in any text:

- the password of every URL in it (``scheme://user:PASSWORD@host``), read as widely as
  the URL allows (an unencoded ``@`` in a password hides more, never less);
- the value of every secret query parameter (:data:`SECRET_PARAMETERS`, and any name
  containing one of :data:`SECRET_WORDS`; case-insensitive): ``?password=***``;
- every secret it is given, and every secret found in the URLs, wherever it occurs, as
  written, percent-encoded (``%40`` for ``@``, ``+`` or ``%20`` for a space) and as JSON
  escapes it. A secret shorter than :data:`MIN_ANYWHERE` characters is only replaced
  where it stands alone (not inside a word), so that a one-letter password does not
  turn every ``p`` of a message into ``***``.

The secrets of a target are the password and secret parameters of its URL and every
value ``erpsync.yaml`` took from the environment into the URL's password or query
(:mod:`erpsync.envvars`). :func:`remember` keeps them for the process, so that the
last line of defence, the error printer of :mod:`erpsync.cli`, scrubs them from a
message nobody expected to quote one.

No SQLAlchemy here: this works on the text, as written (importing SQLAlchemy costs
0.15 s that ``validate`` and ``plan``'s parent process do not otherwise pay).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

HIDDEN = "***"
MIN_ANYWHERE = 4  # a shorter secret is replaced only where it stands alone

# Query parameters whose values are secrets (compared case-insensitively) ...
SECRET_PARAMETERS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "sslpassword",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "auth_token",
        "refresh_token",
        "key",
        "api_key",
        "apikey",
        "private_key",
        "sslkey",
        "credentials",
    }
)
# ... and any parameter whose name contains one of these words.
SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "credential")

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# A URL inside a longer text ends at white space or a quote, and not with the punctuation
# of the sentence around it.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://(?:[^\s'\"<>`]*[^\s'\"<>`:,.;)\]])?")
# The widest reading of a URL's password: from the user's ":" to the last "@".
_USERINFO = re.compile(r"(?P<user>[^:/@]*):(?P<password>.*)@", re.DOTALL)
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # an example's ${PASSWORD}
_PARAMETER = re.compile(r"(?P<name>[^&;=]*)=(?P<value>[^&;]*)")

_remembered: set[str] = set()


def is_secret_parameter(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return lowered in SECRET_PARAMETERS or any(word in lowered for word in SECRET_WORDS)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL's password and secret parameters, and every one of
    ``secrets``, replaced by ``***``. A text that is one URL is read as one URL (its
    password may hold spaces); in a longer text each URL ends at white space."""
    found = [s for s in secrets if s]
    if _SCHEME.match(text) and "\n" not in text:
        text, in_url = _redact_url(text)
        found.extend(in_url)
    else:

        def one(match: re.Match[str]) -> str:
            shown, in_url = _redact_url(match.group(0))
            found.extend(in_url)
            return shown

        text = _URL_IN_TEXT.sub(one, text)
    return _replace(text, found)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """A URL for showing: :func:`redact`, or ``<unparsable URL>`` for what is not one."""
    if _SCHEME.match(url) is None:
        return "<unparsable URL>"
    return redact(url, secrets)


def url_secrets(url: str) -> list[str]:
    """The password and secret parameter values of ``url``, as written and decoded, in
    every reading of it (the widest, and SQLAlchemy's, which ends the password at the
    first ``@``)."""
    return _redact_url(url)[1] if _SCHEME.match(url) else []


def remember(secrets: Iterable[str]) -> None:
    """Keep ``secrets`` for :func:`remembered` (the error printer's scrubbing)."""
    _remembered.update(s for s in secrets if s)


def forget() -> None:
    """Start a new command with nothing remembered (``cli.main`` runs many in one test
    process, and one command's secrets are no business of the next one's messages)."""
    _remembered.clear()


def remembered() -> tuple[str, ...]:
    return tuple(_remembered)


def _redact_url(url: str) -> tuple[str, list[str]]:
    """``url`` shown with its secrets hidden, and those secrets."""
    scheme = _SCHEME.match(url)
    assert scheme is not None
    start = scheme.end()
    secrets: list[str] = []
    shown = url[:start]
    rest = url[start:]
    userinfo = _USERINFO.match(rest)
    if userinfo is not None and not _PLACEHOLDER.fullmatch(userinfo.group("password")):
        password = userinfo.group("password")
        secrets.extend((password, password.split("@", 1)[0]))
        shown += f"{userinfo.group('user')}:{HIDDEN}@"
        rest = rest[userinfo.end() :]
    path, mark, query = rest.partition("?")
    shown += path + mark
    if mark:
        shown += _PARAMETER.sub(lambda m: _parameter(m, secrets), query)
    decoded = [unquote(s) for s in secrets] + [unquote_plus(s) for s in secrets]
    return shown, [s for s in secrets + decoded if s]


def _parameter(match: re.Match[str], secrets: list[str]) -> str:
    name, value = match.group("name"), match.group("value")
    if not value or not is_secret_parameter(name):
        return match.group(0)
    secrets.append(value)
    return f"{name}={HIDDEN}"


def _forms(secret: str) -> set[str]:
    """The ways ``secret`` may be written in a message, a URL or a JSON document."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)}
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    return {f for f in forms if f.strip("*")}  # "***" itself is never a secret


def _replace(text: str, secrets: Iterable[str]) -> str:
    forms = set()
    for secret in secrets:
        forms |= _forms(secret)
    for form in sorted(forms, key=len, reverse=True):  # the longest first: it holds others
        if form not in text:
            continue
        if len(form) >= MIN_ANYWHERE:
            text = text.replace(form, HIDDEN)
        else:
            alone = rf"(?<![^\W_]){re.escape(form)}(?![^\W_])"
            text = re.sub(alone, HIDDEN, text)
    return text
