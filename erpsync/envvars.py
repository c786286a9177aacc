"""``${VAR}`` and ``${VAR:-default}`` in erpsync.yaml (``$$`` is a literal ``$``).

:func:`interpolate_string` replaces them in any string. :func:`interpolate_url`
does so in a database URL, where a value must not change the URL's structure:

- in the userinfo (``user:password@``) and in the query (``?a=b``) a value is
  percent-encoded, so a password may hold ``@ / : # ? & %`` and spaces;
- in the host and port a value holding ``@ / ? #`` or white space is refused, and
  in the path (the database) one holding ``?``, as is a user name holding ``:``
  (the password needs a variable of its own) and a scheme that is not one;
- a URL whose ``://`` itself comes from a variable (``url: ${DATABASE_URL}``) is
  taken as it is: whoever wrote it encoded it.

Values placed in the password or the query are the URL's secrets: they are returned
so that every message can hide them (:mod:`erpsync.secrets`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from erpsync.i18n import N_

VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _value(match: re.Match[str], env: Mapping[str, str], missing: list[str] | None) -> str:
    if match.group(0) == "$$":
        return "$"
    var, default = match.group(1), match.group(2)
    value = env.get(var)
    if value is None or (value == "" and default is not None):
        if default is None:
            if missing is not None:
                missing.append(var)
            return ""
        return default
    return value


def interpolate_string(text: str, env: Mapping[str, str], missing: list[str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; names of unset variables go to ``missing``."""
    return VAR.sub(lambda m: _value(m, env, missing), text)


@dataclass
class InterpolatedUrl:
    url: str
    secrets: list[str] = field(default_factory=list)  # values placed in the password or query
    problems: list[str] = field(default_factory=list)  # values that cannot be placed safely


# Where in a URL a ${VAR} stands, judged by the literal text before it.
_SCHEME, _USER, _PASSWORD, _HOST, _PATH, _QUERY, _WHOLE = (
    "scheme",
    "user",
    "password",
    "host",
    "path",
    "query",
    "whole",
)
_REFUSED = {
    _SCHEME: re.compile(r"[^A-Za-z0-9+.\-]"),
    _HOST: re.compile(r"[@/?#\s]"),
    _PATH: re.compile(r"\?"),
    _USER: re.compile(r":"),
}
_WHY = {
    _SCHEME: N_("the value of {name} is not a URL scheme"),
    _HOST: N_(
        "the value of {name} would change where the URL points (it holds one of @ / ? # or a space)"
    ),
    _PATH: N_("the value of {name} holds a '?', which would start the URL's query"),
    _USER: N_(
        "the value of {name} holds a ':' (put the password in a variable of its own: {example})"
    ),
}


def interpolate_url(
    template: str, env: Mapping[str, str], missing: list[str] | None = None
) -> InterpolatedUrl:
    """``template`` with its variables replaced, each encoded for where it stands."""
    result = InterpolatedUrl("")
    parts: list[str] = []
    last = 0
    place = _Places(template)
    for match in VAR.finditer(template):
        parts.append(template[last : match.start()])
        last = match.end()
        value = _value(match, env, missing)
        where = place(match.start())
        if match.group(0) == "$$" or where == _WHOLE:
            parts.append(value)
            continue
        if where in (_PASSWORD, _QUERY):
            result.secrets.append(value)
        refused = _REFUSED.get(where)
        if refused is not None and refused.search(value):
            result.problems.append(
                _WHY[where].format(name=match.group(1), example="user:${PASSWORD}@")
            )
        encode = where in (_USER, _PASSWORD, _QUERY)
        parts.append(quote(value, safe="") if encode else value)
    parts.append(template[last:])
    result.url = "".join(parts)
    return result


class _Places:
    """Where a variable stands in a URL template, judged by its literal text alone."""

    def __init__(self, template: str) -> None:
        # Each variable becomes as many x's: positions stay, URL syntax in values is ignored.
        lit = VAR.sub(lambda m: "x" * len(m.group(0)), template)
        self.literal = lit
        self.scheme_end = lit.find("://")
        start = self.scheme_end + 3
        ends = [i for i in (lit.find("/", start), lit.find("?", start)) if i >= 0]
        self.authority_end = min(ends, default=len(lit))
        self.userinfo_end = lit.rfind("@", start, self.authority_end)
        self.query_start = lit.find("?", self.authority_end)

    def __call__(self, at: int) -> str:
        if self.scheme_end < 0:
            return _WHOLE  # the URL comes from the environment as a whole
        if at < self.scheme_end:
            return _SCHEME
        if at < self.userinfo_end:
            in_password = ":" in self.literal[self.scheme_end + 3 : at]
            return _PASSWORD if in_password else _USER
        if at < self.authority_end:
            return _HOST
        if 0 <= self.query_start < at:
            return _QUERY
        return _PATH
