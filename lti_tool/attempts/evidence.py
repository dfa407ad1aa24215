"""Element figures for submitted attempts that have none: scored once and stored.

The 0014 migration fills them in for every attempt submitted before they existed. Processes
of an older release still serving during a rolling upgrade submit and mark without writing
them; ``lti-tool db backfill-scores`` after the rollout fills those in (safe to repeat, and to
run beside live traffic). No Flask here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..content import Library, ModuleNotFound
from ..models import Attempt, ResourceLink
from ..progress import evidence_by_element
from . import totals
from .answers import score_of
from .settings import link_settings

log = logging.getLogger(__name__)
BATCH = 500

# Plain tables, so the 0014 migration can use this before the models' later columns exist.
_ATTEMPT = sa.table("attempt", sa.column("id", sa.Integer), sa.column("status", sa.String),
                    sa.column("resource_link_id", sa.Integer), sa.column("module_id", sa.String),
                    sa.column("module_version", sa.String), sa.column("answers", sa.JSON),
                    sa.column("marks", sa.JSON))
_LINK = sa.table("resource_link", sa.column("id", sa.Integer), sa.column("custom", sa.JSON),
                 sa.column("settings", sa.JSON), sa.column("module_id", sa.String))
_SCORES = sa.table("attempt_element_score", sa.column("attempt_id", sa.Integer),
                   sa.column("element", sa.String), sa.column("earned", sa.Float),
                   sa.column("possible", sa.Float))


def backfill(connection: sa.Connection, library: Library, *,
             keep_totals: bool = True) -> tuple[int, int]:
    """Score every submitted attempt without stored figures and store them, a batch at a time
    (each in a savepoint: rows a live request wrote meanwhile win), then recompute their
    students' course totals (``keep_totals``; a migration before those existed says False).
    Returns (attempts scored, attempts on module versions no longer installed, left without)."""
    done = missing = 0
    scored: set[int] = set()
    for rows in _batches(connection):
        values: list[dict[str, Any]] = []
        for row in rows:
            try:
                module = library.get(row.module_id, row.module_version)
            except ModuleNotFound:
                missing += 1
                continue
            settings = link_settings(ResourceLink(custom=row.custom or {},
                                                  settings=row.settings or {},
                                                  module_id=row.link_module))
            score = score_of(Attempt(answers=row.answers or {}, marks=row.marks or {}),
                             module, settings)
            values += [{"attempt_id": row.id, "element": element, "earned": float(earned),
                        "possible": float(possible)}
                       for element, (earned, possible) in evidence_by_element(score).items()]
            done += 1
            scored.add(row.id)
        _insert(connection, values)
    if keep_totals and scored:
        totals.refresh(connection, totals.courses_of(connection, scored))
    log.info("attempt element scores: %d submitted attempts scored, %d on module versions "
             "no longer installed left without", done, missing)
    return done, missing


def _batches(connection: sa.Connection) -> Iterator[Sequence[sa.Row[Any]]]:
    """Submitted attempts with no stored figures, with their link's settings, by id."""
    stored = sa.select(_SCORES.c.attempt_id).where(_SCORES.c.attempt_id == _ATTEMPT.c.id)
    query = (sa.select(_ATTEMPT.c.id, _ATTEMPT.c.module_id, _ATTEMPT.c.module_version,
                       _ATTEMPT.c.answers, _ATTEMPT.c.marks, _LINK.c.custom, _LINK.c.settings,
                       _LINK.c.module_id.label("link_module"))
             .join(_LINK, _LINK.c.id == _ATTEMPT.c.resource_link_id)
             .where(_ATTEMPT.c.status == "submitted", ~stored.exists())
             .order_by(_ATTEMPT.c.id).limit(BATCH))
    last = 0
    while True:
        rows = connection.execute(query.where(_ATTEMPT.c.id > last)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _insert(connection: sa.Connection, values: list[dict[str, Any]]) -> None:
    """Insert a batch; should a live request have scored one of its attempts meanwhile, insert
    attempt by attempt and leave that one's (newer) rows alone."""
    if not values:
        return
    try:
        with connection.begin_nested():
            connection.execute(sa.insert(_SCORES), values)
        return
    except IntegrityError:
        pass
    by_attempt: dict[int, list[dict[str, Any]]] = {}
    for value in values:
        by_attempt.setdefault(value["attempt_id"], []).append(value)
    for attempt_id, rows in by_attempt.items():
        try:
            with connection.begin_nested():
                connection.execute(sa.insert(_SCORES), rows)
        except IntegrityError:
            log.info("attempt %s was scored meanwhile; its figures are kept", attempt_id)
