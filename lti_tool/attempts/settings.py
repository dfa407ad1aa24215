"""How a link's module is marked and which attempt counts: rules every area reads alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Attempt, AttemptStatus, ResourceLink

COUNTING = ("best", "latest")


@dataclass(frozen=True)
class LinkSettings:
    """How a link's module is marked; defaults follow the module itself."""

    module_id: str | None
    max_attempts: int | None = None
    counting: str = "best"
    completion_credit: bool = False
    pass_mark: int | None = None
    # The grade's scoreMaximum chosen by the lecturer; None: the module's own maximum.
    max_points: float | None = None


def link_settings(link: ResourceLink) -> LinkSettings:
    """Settings from the lecturer's choices, falling back to the link's custom parameters."""
    custom = link.custom or {}
    chosen = link.settings or {}

    def pick(name: str) -> Any:
        return chosen.get(name, custom.get(name))

    attempts = _positive_int(pick("max_attempts"))
    counting = pick("counting") if pick("counting") in COUNTING else "best"
    completion = str(pick("reflection_marking") or "").lower() == "completion"
    pass_mark = _positive_int(pick("pass_mark"))
    module_id = link.module_id or (custom.get("module") or None)
    return LinkSettings(module_id=module_id, max_attempts=attempts, counting=counting,
                        completion_credit=completion,
                        pass_mark=pass_mark if pass_mark and pass_mark <= 100 else None,
                        max_points=_positive_number(pick("max_points")))


def _positive_number(value: Any) -> float | None:
    """A finite number > 0 from a setting or custom parameter string, else None."""
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < float("inf") else None


def _positive_int(value: Any) -> int | None:
    """An int > 0 from a setting or custom parameter string, else None."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def counted_attempt(attempts: list[Attempt], counting: str) -> Attempt | None:
    """The submitted attempt that counts for the grade: the best, or the latest."""
    done = [a for a in attempts if a.status == AttemptStatus.SUBMITTED]
    if not done:
        return None
    if counting == "latest":
        return max(done, key=lambda a: (a.submitted_at, a.number))
    return max(done, key=lambda a: (a.percent or 0, -a.number))
