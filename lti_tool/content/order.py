"""The order a student sees options and choices in: shuffled per attempt, stable across views.

The order is a pure function of a seed (the attempt's) and the item's own ids, so a resume, the
review, the summary and the lecturer's drill-down all show the same order without storing it.
Pinned items keep their written position (e.g. "None of these" stays last).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Protocol, TypeVar


class Orderable(Protocol):
    """Anything with an id that may be pinned in place."""

    @property
    def id(self) -> str: ...  # noqa: D102

    @property
    def pinned(self) -> bool: ...  # noqa: D102


T = TypeVar("T", bound=Orderable)


def shuffled(items: Sequence[T], seed: str | None, *scope: str) -> list[T]:
    """``items`` in the order for ``seed`` (None: as written); pinned items stay where written."""
    if seed is None or len(items) < 2:
        return list(items)
    # sha256, not hash(): str hashes change between processes, and every worker must agree.
    digest = hashlib.sha256("\x1f".join((seed, *scope)).encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    free = [item for item in items if not item.pinned]
    rng.shuffle(free)
    moving = iter(free)
    return [item if item.pinned else next(moving) for item in items]
