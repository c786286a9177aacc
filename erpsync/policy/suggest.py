"""'Did you mean' hints for unknown names, in time linear in the policy.

``difflib.get_close_matches`` compares a name with every candidate: fine for a
model's dozen fields, quadratic for a million unknown roles checked against
100,000 logins. A :class:`Suggester` therefore

- gives at most :data:`MAX_HINTS` hints per run (only the first few hundred
  diagnostics are shown in full anyway; see :mod:`erpsync.diagnostics`);
- compares a name only with the :data:`SHORTLIST` candidates that share the
  most character trigrams with it, once there are more than
  :data:`DIRECT_LIMIT` candidates (the trigram index of a candidate set is
  built once, on its first use).
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Collection

from erpsync.i18n import N_

MAX_HINTS = 1000
DIRECT_LIMIT = 500
SHORTLIST = 30
CUTOFF = 0.6


def _trigrams(name: str) -> set[str]:
    padded = f"  {name} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class _Index:
    """Candidates by trigram, for a shortlist of those resembling a name."""

    def __init__(self, candidates: Collection[str]) -> None:
        self.by_trigram: dict[str, list[str]] = defaultdict(list)
        for candidate in candidates:
            for gram in _trigrams(candidate):
                self.by_trigram[gram].append(candidate)

    def shortlist(self, name: str) -> list[str]:
        shared: Counter[str] = Counter()
        for gram in _trigrams(name):
            shared.update(self.by_trigram.get(gram, ()))
        return [candidate for candidate, _ in shared.most_common(SHORTLIST)]


class Suggester:
    """Hints for one validation run; see the module notes for its limits."""

    def __init__(self, max_hints: int = MAX_HINTS) -> None:
        self.left = max_hints
        self.indexes: dict[int, tuple[Collection[str], _Index]] = {}

    def hint(self, name: str, candidates: Collection[str]) -> str:
        """' (did you mean 'x'?)' for a near miss among ``candidates``, else ''."""
        if self.left <= 0 or not candidates:
            return ""
        self.left -= 1
        if len(candidates) <= DIRECT_LIMIT:
            pool: Collection[str] = list(candidates)
        else:
            pool = self._index(candidates).shortlist(name)
        close = difflib.get_close_matches(name, pool, n=1, cutoff=CUTOFF)
        return N_(" (did you mean '{name}'?)").format(name=close[0]) if close else ""

    def _index(self, candidates: Collection[str]) -> _Index:
        # Keyed by identity, the collection kept alive beside its index (the policy's own
        # mappings: one index per kind of name).
        cached = self.indexes.get(id(candidates))
        if cached is None or cached[0] is not candidates:
            cached = (candidates, _Index(candidates))
            self.indexes[id(candidates)] = cached
        return cached[1]
