"""IAM's resource globs: which ARNs a `Resource` or `NotResource` list can match.

IAM's only wildcards are `*` (any run of characters, `/` and `:` included) and `?` (one
character). Two questions decide verdicts, and each is answered on the safe side:

- `covers(outer, inner)`: does every ARN `inner` matches also match `outer`? Used to
  remove a grant (a Deny, a boundary), so a "yes" must be certain: literals compare
  case-sensitively and a policy variable (`${aws:username}`) is only its own text.
  A rare "no" that IAM would call "yes" (`*?` against `?*`) keeps a finding; it never
  loses one.
- `overlaps(a, b)`: can some ARN match both? Used to keep a grant, so a "no" must be
  certain: literals compare case-insensitively and a policy variable matches anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

ANY = "*"
ONE = "?"
# In an ARN format, a variable before the resource part (partition, region, account) is
# any run of characters but `:`; it never occurs in what people write.
SEGMENT = "\x00"
# A variable that names one thing and holds neither `:` nor `/` (an S3 bucket's name).
NAME = "\x01"
_NAMES = re.compile(r"\$\{(BucketName)\}")
_VARIABLE = re.compile(r"\$\{[^}]*\}")


@functools.lru_cache(maxsize=65536)
def covers(outer: str, inner: str) -> bool:
    """Every ARN `inner` can match, `outer` matches too (certain when True)."""
    if outer in (ANY, inner):
        return True
    if _is_plain(inner):  # one ARN: a regex answers at C speed
        return _regex(outer).fullmatch(inner) is not None
    if inner.endswith(ANY) and _is_plain(inner[:-1]) and outer.endswith(ANY):
        # every `P...` matches `X*` exactly when `P` does: the last `*` takes the rest
        return _regex(outer).fullmatch(inner[:-1]) is not None
    return _covers(outer, inner)


def _covers(outer: str, inner: str) -> bool:
    # Inner's `*` may only be absorbed by outer's `*`, and inner's `?` by `?` or `*`.
    def moves(i: int, j: int) -> list[tuple[int, int]]:
        if i < len(outer) and outer[i] == ANY:
            # outer's * absorbs nothing more, or inner's next symbol, whatever it is
            return [(i + 1, j), (i, j + 1)] if j < len(inner) else [(i + 1, j)]
        if i < len(outer) and j < len(inner) and _symbol_covers(outer[i], inner[j]):
            return [(i + 1, j + 1)]
        return []

    return _reads_both_to_the_end(outer, inner, moves)


def _symbol_covers(outer: str, inner: str) -> bool:
    if inner == ANY:
        return False
    if outer == ONE:
        return True
    return outer == inner


@functools.lru_cache(maxsize=65536)
def overlaps(a: str, b: str) -> bool:
    """Some ARN may match both (certain when False)."""
    a, b = _loose(a), _loose(b)
    if ANY in (a, b) or a == b:
        return True
    # Most patterns are one ARN or one ARN's prefix (`arn:aws:s3:::exports/*`): regexes.
    for one, other in ((a, b), (b, a)):
        if _is_plain(one):
            return _regex(other).fullmatch(one) is not None
        if one.endswith(ANY) and _is_plain(one[:-1]):
            return _begins(other, one[:-1])
    return _open_ended(a, b) or _open_ended(b, a) or _search(a, b)


def _is_plain(pattern: str) -> bool:
    return _SYMBOL.search(pattern) is None


_REGEX_OF = {ANY: ".*", ONE: ".", SEGMENT: "[^:]*", NAME: "[^:/]*"}


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    """What a glob matches (each symbol as `_search` reads it)."""
    return re.compile("".join(_REGEX_OF.get(c) or re.escape(c) for c in pattern), re.DOTALL)


def _begins(pattern: str, text: str) -> bool:
    """Does some string the glob matches begin with `text` (plain)? Read symbol by symbol:
    every position of a glob can still reach its end, so a text read to its end begins one."""
    positions = _skip_runs(pattern, {0})
    for char in text:
        after = set()
        for i in positions:
            if i == len(pattern):
                continue
            symbol = pattern[i]
            if symbol in _RUNS:
                if _run_takes(symbol, char):
                    after.add(i)
            elif symbol in (ONE, char):
                after.add(i + 1)
        positions = _skip_runs(pattern, after)
        if not positions:
            return False
    return True


def _skip_runs(pattern: str, positions: set[int]) -> set[int]:
    """A run may take nothing: each position also stands for those after its runs."""
    reached = set(positions)
    for start in positions:
        i = start
        while i < len(pattern) and pattern[i] in _RUNS:
            i += 1
            reached.add(i)
    return reached


def _run_takes(run: str, char: str) -> bool:
    if run == NAME:
        return char not in ":/"
    return run == ANY or char != ":"


def _open_ended(a: str, b: str) -> bool:
    """A quick yes for most pairs: `b` ends with `*` and some string can start both `b` and
    `a` up to its first `*` (`arn:aws:s3:*` against `arn:...:s3:...:job/*`). Then `a`'s `*`
    and `b`'s take what the other needs. The beginnings repeat from pair to pair: cached.
    """
    first = a.find(ANY)
    return b.endswith(ANY) and 0 <= first < len(a) - 1 and overlaps(a[: first + 1], b)


def _search(a: str, b: str) -> bool:
    # A run of either takes the other's next symbol, or ends; two symbols that meet are read
    # (yielded last, so tried first: a symbol of both is read before a run takes one).
    def moves(i: int, j: int) -> list[tuple[int, int]]:
        run_a = i < len(a) and a[i] in _RUNS
        run_b = j < len(b) and b[j] in _RUNS
        after = []
        if run_a:
            after.append((i + 1, j))
        if run_b:
            after.append((i, j + 1))
        if i < len(a) and j < len(b) and _symbols_meet(a[i], b[j]):
            after.append((i if run_a else i + 1, j if run_b else j + 1))
        return after

    return _reads_both_to_the_end(a, b, moves)


def _reads_both_to_the_end(
    a: str, b: str, moves: Callable[[int, int], list[tuple[int, int]]]
) -> bool:
    """Is there a path of `moves` from the start of both to the end of both? States are
    positions (i in a, j in b); depth first, the first path that reads both to the end ends
    the search."""
    states = [(0, 0)]
    seen: set[tuple[int, int]] = set()
    while states:
        i, j = states.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        states.extend(moves(i, j))
    return False


_RUNS = (ANY, SEGMENT, NAME)
_SYMBOL = re.compile("[" + re.escape("".join((*_RUNS, ONE))) + "]")


def arn_format_glob(arn_format: str) -> str:
    """`arn:${Partition}:s3:::${BucketName}/${ObjectName}` as a glob for `overlaps`."""
    fields = arn_format.split(":", 5)
    head = [_VARIABLE.sub(SEGMENT, field) for field in fields[:5]]
    tail = [_VARIABLE.sub(ANY, _NAMES.sub(NAME, field)) for field in fields[5:]]
    return ":".join([*head, *tail])


def _loose(pattern: str) -> str:
    return _VARIABLE.sub(ANY, pattern).lower()


def _symbols_meet(a: str, b: str) -> bool:
    if NAME in (a, b):
        return not {":", "/"} & {a, b}
    if SEGMENT in (a, b):
        return ":" not in (a, b)
    return a in (ANY, ONE) or b in (ANY, ONE) or a == b


@dataclass(frozen=True)
class ResourceScope:
    """The ARNs one statement applies to: `Resource` patterns, or all but `NotResource` ones."""

    patterns: tuple[str, ...]
    negated: bool = False

    @classmethod
    def everything(cls) -> ResourceScope:
        return cls((ANY,))

    @property
    def is_everything(self) -> bool:
        return not self.negated and ANY in self.patterns

    def covers(self, other: ResourceScope) -> bool:
        """Every ARN `other` applies to, this scope applies to (certain when True)."""
        if self.is_everything:
            return True
        if not self.negated and not other.negated:
            return all(
                any(covers(mine, theirs) for mine in self.patterns) for theirs in other.patterns
            )
        if self.negated and not other.negated:
            # all but X covers R when nothing in R can be an X
            return not any(
                overlaps(mine, theirs) for mine in self.patterns for theirs in other.patterns
            )
        if self.negated and other.negated:
            # all but X covers all but Y when every X is a Y
            return all(
                any(covers(theirs, mine) for theirs in other.patterns) for mine in self.patterns
            )
        return False  # a list of patterns never certainly covers "all but some"

    def overlaps(self, other: ResourceScope) -> bool:
        """Some ARN may be in both (certain when False)."""
        if self.negated and other.negated:
            return True
        if self.negated:
            return other.overlaps(self)
        if not other.negated:
            return any(
                overlaps(mine, theirs) for mine in self.patterns for theirs in other.patterns
            )
        # R against all but Y: empty only when every R is certainly a Y
        return not ResourceScope(other.patterns).covers(self)

    def narrowed_by(self, limit: ResourceScope) -> ResourceScope:
        """What is left of this scope inside `limit`, on the wide side when not exact."""
        if limit.covers(self):
            return self
        if self.covers(limit):
            return limit
        return self

    def as_json(self) -> list[str]:
        """Patterns as evidence shows them: a NotResource list as `NotResource:<pattern>`."""
        if self.negated:
            return [f"NotResource:{pattern}" for pattern in self.patterns]
        return list(self.patterns)
