"""Keys that look like other keys: a Cyrillic ``аdmin`` beside the protected ``admin``.

Such a key validates, plans and applies like any other, and no view tells it
apart, so it gets a warning at its declaration when it

- mixes scripts that are confusable with each other (Latin with Cyrillic or
  Greek, ...). The mixes Unicode's "highly restrictive" profile (UTS #39)
  allows are normal and not warned about: Latin with Han (``市场部-01``), with
  Han and kana, Han and Bopomofo, or Han and Hangul; digits and punctuation
  belong to no script;
- or looks the same as another key of its kind, or as a protected login or
  role (``settings.protected_users`` / ``protected_roles`` and the adapter's
  built-ins): both have the same *skeleton*, each character replaced by the
  representative of its class in Unicode's confusables data.

The script and confusables data are those of the ``confusable_homoglyphs``
package (from Unicode's Scripts.txt and confusables.txt). Two keys written only
in ASCII are not compared (``l`` / ``1`` / ``I``): the warning is about
characters from other scripts passing for Latin ones.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache

from erpsync.diagnostics import Diagnostic, warning
from erpsync.i18n import N_
from erpsync.policy.loader import LoadedPolicy

# Sections whose keys are checked, and the noun of their keys in messages.
SECTIONS = {"departments": "department", "roles": "role", "users": "user"}

# Messages are English data made from templates marked N_; a view says them in the run's
# language (erpsync.i18n.said): a warning is one or two problems, each a {detail}/{cause}.
_CHECK = N_("{detail}: check that it is the key you mean")
_CHECK_TWO = N_("{detail}; {cause}: check that it is the key you mean")
_MIXES = N_("mixes the {scripts} scripts ({chars})")
_MIXES_TWO = N_("mixes the {first} and {second} scripts ({chars})")
# The key looks like another: by the other key's kind, declared (at a place) or protected.
_LOOKS_LIKE = {
    "department": N_("looks like department '{other}' at {where} ({detail})"),
    "role": N_("looks like role '{other}' at {where} ({detail})"),
    "user": N_("looks like user '{other}' at {where} ({detail})"),
    "protected role": N_("looks like protected role '{other}' ({detail})"),
    "protected user": N_("looks like protected user '{other}' ({detail})"),
}
_FOR = N_("{char} for {original}")
NO_SCRIPT = frozenset({"COMMON", "INHERITED"})
ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def confusable_keys(
    loaded: LoadedPolicy,
    protected_users: Iterable[str] = (),
    protected_roles: Iterable[str] = (),
) -> list[Diagnostic]:
    """A warning for each key that mixes scripts or looks like another key of its kind."""
    protected = {"users": set(protected_users), "roles": set(protected_roles)}
    found: list[Diagnostic] = []
    for section, noun in SECTIONS.items():
        keys = [k for k in getattr(loaded.policy, section) if isinstance(k, str)]

        def where(key: str, section: str = section) -> str:
            return str(loaded.position(section, key))

        for key, problems in _problems(keys, protected.get(section, set()), noun, where):
            found.append(
                warning(
                    "confusable-key",
                    loaded.position(section, key),
                    f"{noun} {key}",
                    _CHECK_TWO.format(detail=problems[0], cause=problems[1])
                    if len(problems) == 2
                    else _CHECK.format(detail="; ".join(problems)),
                )
            )
    return found


def _problems(
    keys: list[str], protected: set[str], noun: str, where: Callable[[str], str]
) -> Iterator[tuple[str, list[str]]]:
    """(key, what is wrong with it) for the keys of one kind; ``where`` tells where a
    key was declared."""
    foreign = [k for k in keys if not k.isascii()]
    if not foreign:  # the common case, kept cheap: no key can pass for another
        return
    groups: dict[str, dict[str, str]] = {skeleton(k): {} for k in foreign}  # -> key: label
    for other in keys:
        group = groups.get(skeleton(other))
        if group is not None:
            group[other] = noun
    for other in protected:
        group = groups.get(skeleton(other))
        if group is not None:
            group[other] = f"protected {noun}"
    for key in foreign:
        problems = []
        mixed = mixed_scripts(key)
        if mixed:
            names = [s.title() for s in sorted(mixed)]
            if len(names) == 2:
                problems.append(
                    _MIXES_TWO.format(first=names[0], second=names[1], chars=_minority(key))
                )
            else:
                problems.append(_MIXES.format(scripts=" and ".join(names), chars=_minority(key)))
        for other, label in sorted(groups[skeleton(key)].items()):
            if other != key:
                where_other = "" if label.startswith("protected") else where(other)
                problems.append(
                    _LOOKS_LIKE[label].format(
                        other=other, where=where_other, detail=_differences(key, other)
                    )
                )
        if problems:
            yield key, problems


def mixed_scripts(key: str) -> frozenset[str]:
    """The scripts of ``key`` when it mixes confusable ones (see the module notes), else
    an empty set."""
    scripts = frozenset(_script(c) for c in key) - NO_SCRIPT
    if len(scripts) <= 1 or any(scripts <= allowed for allowed in ALLOWED_MIXES):
        return frozenset()
    return scripts


def skeleton(key: str) -> str:
    """``key`` in compatibility form (NFKC: fullwidth ``ａ`` is ``a``) with each character
    replaced by the representative of its confusables class: two keys that look alike
    have the same skeleton."""
    prototypes = _prototypes()
    return "".join(prototypes.get(c, c) for c in unicodedata.normalize("NFKC", key))


@cache
def _script(char: str) -> str:
    from confusable_homoglyphs import categories

    return str(categories.alias(char))


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its class's representative (an ASCII one if the class
    has one, else the lowest code point), from the package's confusables data."""
    from confusable_homoglyphs import confusables

    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for char, homoglyphs in confusables.confusables_data.items():
        for h in homoglyphs:
            if len(char) == 1 and len(h["c"]) == 1:
                a, b = find(char), find(h["c"])
                if a != b:
                    parent[max(a, b, key=_rank)] = min(a, b, key=_rank)
    return {c: find(c) for c in parent}


def _rank(c: str) -> tuple[bool, int]:
    return (not c.isascii(), ord(c))


def _describe(c: str) -> str:
    return f"'{c}' U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}"


def _minority(key: str) -> str:
    """The characters of ``key`` outside its main script, described."""
    scripts = Counter(_script(c) for c in key if _script(c) not in NO_SCRIPT)
    main = scripts.most_common(1)[0][0]
    odd = dict.fromkeys(c for c in key if _script(c) not in NO_SCRIPT | {main})
    return ", ".join(_describe(c) for c in odd)


def _differences(key: str, other: str) -> str:
    """How ``key`` differs from ``other``, which looks the same: '<char> for <char>', ..."""
    if len(key) == len(other):
        pairs = dict.fromkeys((a, b) for a, b in zip(key, other, strict=True) if a != b)
        return ", ".join(_FOR.format(char=_describe(a), original=_describe(b)) for a, b in pairs)
    odd = dict.fromkeys(c for c in key if not c.isascii())
    return ", ".join(_describe(c) for c in odd)
