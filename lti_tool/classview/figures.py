"""What the class view reads per student, as numbers the database adds up: one GROUP BY query.

Attempts, submissions, marking waiting, modules completed and last activity per student, and
where each stands against the pass marks (the counted attempt of every link, compared in SQL),
without loading an attempt's answers or stored figures into Python.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from ..attempts.profile import installed
from ..attempts.settings import link_settings
from ..content import Module
from ..models import Attempt, AttemptStatus, ResourceLink


@dataclass(frozen=True)
class Figures:
    """One student's attempts through a scope, summed up."""

    attempts: int = 0  # any state, any module version
    submitted: int = 0  # submitted, on a module version still installed (as profile_of counts)
    pending_marking: int = 0  # of those, how many wait for a marker
    modules_done: int = 0  # distinct modules of the scope among them
    last_activity: datetime | None = None  # the latest change or submission of an attempt
    counted_links: int = 0  # links with a submitted attempt (so an attempt that counts)
    below: bool = False  # some link's counted attempt is under that link's pass mark


def student_figures(session: Session, links: Collection[ResourceLink], module_ids: Collection[str],
                    counting: str, versions: Mapping[tuple[str, str], Module | None],
                    user_ids: Collection[int] | None = None, *,
                    standing: bool = True) -> dict[int, Figures]:
    """Figures per user id of everyone with an attempt through the links (one query;
    ``user_ids`` limits it to some users; ``standing`` False leaves out where they stand
    against the pass marks, which the CSV does not show)."""
    if not links:
        return {}
    link_ids = [link.id for link in links]
    scope = [Attempt.resource_link_id.in_(link_ids)]
    if user_ids is not None:
        scope.append(Attempt.user_id.in_(user_ids))
    used = and_(Attempt.status == AttemptStatus.SUBMITTED, *installed(versions))
    done = case((and_(used, Attempt.module_id.in_(list(module_ids))), Attempt.module_id))
    activity = select(
        Attempt.user_id, func.count().label("attempts"),
        func.sum(case((used, 1), else_=0)).label("submitted"),
        func.sum(case((and_(used, Attempt.pending_manual.is_(True)), 1), else_=0))
        .label("pending"),
        func.count(distinct(done)).label("modules_done"),
        func.max(Attempt.updated_at).label("updated"),
        func.max(Attempt.submitted_at).label("submitted_at"),
    ).where(*scope).group_by(Attempt.user_id).subquery()

    query = (_with_standing(activity, scope, links, counting, versions) if standing else
             select(activity, literal(0).label("counted"), literal(0).label("below")))
    # Numbers only: run as Core, without the ORM's per-row loading.
    rows = session.connection().execute(query)
    out = {}
    for row in rows:
        times = [t for t in (row.updated, row.submitted_at) if t is not None]
        out[row.user_id] = Figures(int(row.attempts), int(row.submitted or 0),
                                   int(row.pending or 0), int(row.modules_done or 0),
                                   max(times, default=None), int(row.counted or 0),
                                   bool(row.below))
    return out


def _with_standing(activity: Subquery, scope: Sequence[ColumnElement[bool]],
                   links: Collection[ResourceLink], counting: str,
                   versions: Mapping[tuple[str, str], Module | None]) -> Select[Any]:
    """The per-user figures joined with where each stands against the pass marks."""
    # The attempt that counts for each link's grade (attempts.settings.counted_attempt): the
    # best, ties to the earlier attempt, or the latest.
    key = ((Attempt.submitted_at.desc(), Attempt.number.desc()) if counting == "latest" else
           (func.coalesce(Attempt.percent, 0.0).desc(), Attempt.number.asc()))
    ranked = select(
        Attempt.user_id, Attempt.resource_link_id, Attempt.module_id, Attempt.module_version,
        func.coalesce(Attempt.percent, 0.0).label("percent"),
        func.row_number().over(partition_by=(Attempt.user_id, Attempt.resource_link_id),
                               order_by=key).label("rank"),
    ).where(*scope, Attempt.status == AttemptStatus.SUBMITTED).subquery()
    mark = _pass_mark(ranked.c.resource_link_id, ranked.c.module_id, ranked.c.module_version,
                      links, versions)
    standing = select(
        ranked.c.user_id, func.count().label("counted"),
        func.max(case((ranked.c.percent < mark, 1), else_=0)).label("below"),
    ).where(ranked.c.rank == 1).group_by(ranked.c.user_id).subquery()

    return (select(activity, standing.c.counted, standing.c.below)
            .outerjoin(standing, standing.c.user_id == activity.c.user_id))


def _pass_mark(link_id: ColumnElement[int], module_id: ColumnElement[str],
               version: ColumnElement[str], links: Collection[ResourceLink],
               versions: Mapping[tuple[str, str], Module | None]) -> ColumnElement[int]:
    """The pass mark a counted attempt is held to, as SQL: the link's own, else that of the
    module version it was taken on, else 0 (a version no longer installed)."""
    whens: list[tuple[ColumnElement[bool], int]] = []
    for link in links:
        own = link_settings(link).pass_mark
        if own is not None:
            whens.append((link_id == link.id, own))
    for (mid, ver), module in sorted(versions.items()):
        if module is not None:
            whens.append((and_(module_id == mid, version == ver), module.pass_mark))
    return case(*whens, else_=0) if whens else literal(0)
