"""Each student's mastery per course and element, kept up to date as attempts change.

The class view of a course adds up, for every student, the element points of the attempt that
counts per module (the best across the course's links: attempts.profile.mastery_totals). Done
per page view that is a window over every attempt of the class and a join to their element
scores; stored here per (course, student, element) it is one short read.

Stored sums go stale only if a change misses them, so they are kept by the session itself:
every flush that changes a submitted attempt or its element scores notes the student and
course, and the commit recomputes those rows from the attempts, inside the same transaction.
Writes outside the ORM call in: a retention purge ``note_pairs``, `db backfill-scores`
``refresh``, migration 0017 ``refresh_all``; `lti-tool db refresh-totals` recomputes
everyone beside live traffic (``refresh_everyone``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    case,
    column,
    event,
    func,
    select,
    table,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction, sessionmaker

from ..models import Attempt, AttemptElementScore, AttemptStatus, CourseElementTotal, ResourceLink
from .profile import Plan, Total, counted_rank, domain_of, domain_rows, element_rows

_NOTED = "lti_tool.course_totals"  # session.info key: attempt ids and (user, link) pairs
# An attempt's columns that decide whether and how it counts.
_COUNTING = ("status", "percent", "pending_manual", "submitted_at", "created_at", "module_id",
             "user_id", "resource_link_id")
# pg_advisory_xact_lock(namespace, bucket): a bucket's students' totals are recomputed by one
# transaction at a time (the namespace keeps clear of other advisory locks).
_LOCK_NAMESPACE = 0x746F74  # "tot"
_LOCK_BUCKETS = 64

# The tables as plain columns (see _recompute).
_ATTEMPT = table("attempt", column("id", Integer), column("user_id", Integer),
                 column("resource_link_id", Integer), column("module_id", String),
                 column("status", String), column("percent", Float),
                 column("pending_manual", Boolean), column("submitted_at", DateTime),
                 column("created_at", DateTime))
_LINK = table("resource_link", column("id", Integer), column("context_id", Integer))
_SCORE = table("attempt_element_score", column("attempt_id", Integer),
               column("element", String), column("earned", Float), column("possible", Float))
_TOTAL = table("course_element_total", column("context_id", Integer),
               column("user_id", Integer), column("element", String), column("earned", Float),
               column("possible", Float), column("pending", Boolean))


def install(factory: sessionmaker[Session]) -> None:
    """Keep the totals with every session the factory makes."""
    event.listen(factory, "after_flush", _note_flushed)
    event.listen(factory, "before_commit", _refresh_noted)
    event.listen(factory, "after_transaction_end", _forget)


def note_pairs(session: Session, pairs: Iterable[tuple[int, int]]) -> None:
    """Have the commit recompute these (user id, resource link id) pairs' courses (for writes
    made without the ORM, such as a bulk DELETE of attempts)."""
    _noted(session)[1].update(pairs)


def _noted(session: Session) -> tuple[set[int], set[tuple[int, int]]]:
    """The attempt ids and (user, link) pairs noted in this transaction."""
    noted: tuple[set[int], set[tuple[int, int]]] = session.info.setdefault(_NOTED, (set(), set()))
    return noted


def _note_flushed(session: Session, _context: UOWTransaction) -> None:
    """Note attempts whose counting figures or element scores this flush changed."""
    ids: set[int] = set()
    pairs: set[tuple[int, int]] = set()
    dirty = session.dirty  # a new set at every reading: read once
    for obj in chain(session.new, dirty, session.deleted):
        if isinstance(obj, AttemptElementScore):
            ids.update(v for v in _values(obj, "attempt_id") if v is not None)
        elif isinstance(obj, Attempt):
            if AttemptStatus.SUBMITTED not in _values(obj, "status"):
                continue  # never submitted: it counts nowhere (answers saved step by step)
            state = sa_inspect(obj)
            if obj in dirty and not any(
                    state.attrs[name].history.has_changes() for name in _COUNTING):
                continue  # e.g. an erasure scrubbing its answers: the figures stand
            # Old and new owner and link: a moved attempt changes two students' figures.
            pairs.update((user, link) for user in _values(obj, "user_id")
                         for link in _values(obj, "resource_link_id")
                         if user is not None and link is not None)
    if ids or pairs:
        noted_ids, noted_pairs = _noted(session)
        noted_ids.update(ids)
        noted_pairs.update(pairs)


def _values(obj: object, name: str) -> set[Any]:
    """An attribute's value now and before this flush."""
    history = sa_inspect(obj, raiseerr=True).attrs[name].history
    return {*history.added, *history.unchanged, *history.deleted}


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """The notes end with the session's outermost transaction (a savepoint rolled back keeps
    them: recomputing a student whose figures did not change after all costs nothing wrong)."""
    if transaction.parent is None:
        session.info.pop(_NOTED, None)


def _refresh_noted(session: Session) -> None:
    """Recompute the noted students' course totals, last thing before the commit."""
    # commit() flushes only after this hook: flush now, so that what is pending is noted.
    session.flush()
    if _NOTED not in session.info:
        return
    ids, pairs = session.info[_NOTED]
    if ids or pairs:
        known, ids, pairs = _in_session(session, ids, pairs)
        refresh(session.connection(), known | courses_of(session.connection(), ids, pairs))
    del session.info[_NOTED]  # only once recomputed: a failure leaves them to the rollback


def _in_session(session: Session, ids: set[int], pairs: set[tuple[int, int]],
                ) -> tuple[set[tuple[int, int]], set[int], set[tuple[int, int]]]:
    """(user, context) pairs the session already holds (the submitted or marked attempt and
    its link are loaded): no query for those; returns them and what is left to look up."""
    left_ids: set[int] = set()
    held = set(pairs)
    for attempt_id in ids:
        values = _loaded(session, Attempt, attempt_id, "user_id", "resource_link_id")
        if values is None:
            left_ids.add(attempt_id)
        else:
            held.add(values)
    known: set[tuple[int, int]] = set()
    left_pairs: set[tuple[int, int]] = set()
    for user_id, link_id in held:
        context = _loaded(session, ResourceLink, link_id, "context_id")
        if context is None:
            left_pairs.add((user_id, link_id))
        else:
            known.add((user_id, context[0]))
    return known, left_ids, left_pairs


def _loaded(session: Session, model: type[Any], ident: int, *names: str) -> tuple[Any, ...] | None:
    """The attributes of a row the session holds, without loading anything; None if not held."""
    obj = session.identity_map.get(session.identity_key(model, ident))
    if obj is None:
        return None
    loaded = sa_inspect(obj, raiseerr=True).dict
    values = tuple(loaded.get(name) for name in names)
    return None if None in values else values


def courses_of(connection: Connection, ids: Iterable[int],
               pairs: Iterable[tuple[int, int]] = ()) -> set[tuple[int, int]]:
    """(user id, context id) of these attempts and (user, link) pairs: a query per 500."""
    link = ResourceLink
    found: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(connection.execute(
            select(Attempt.user_id, link.context_id).join(link, link.id == Attempt.resource_link_id)
            .where(Attempt.id.in_(chunk))).tuples().all())
    pairs = set(pairs)
    for chunk in _chunks(sorted({link_id for _, link_id in pairs})):
        contexts = dict(connection.execute(
            select(link.id, link.context_id).where(link.id.in_(chunk))).tuples().all())
        found.update((user, contexts[link_id]) for user, link_id in pairs
                     if link_id in contexts)
    return found


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    """The values in lists of at most ``size`` (bound parameters per statement stay few)."""
    return (values[i:i + size] for i in range(0, len(values), size))


def refresh(connection: Connection, courses: Iterable[tuple[int, int]]) -> None:
    """Recompute the totals of these (user id, context id) pairs from their attempts.

    On PostgreSQL a recompute first waits for any other transaction recomputing the same
    students to commit, then reads what it committed: two tabs submitting at once both count.
    The lock is per bucket of students (user id modulo _LOCK_BUCKETS), all taken at once in
    order, so a purge touching thousands of students holds a few dozen locks and no two
    transactions can wait on each other.
    """
    by_user: dict[int, set[int]] = {}
    for user_id, context_id in courses:
        by_user.setdefault(user_id, set()).add(context_id)
    if not by_user:
        return
    if connection.dialect.name == "postgresql":
        for bucket in sorted({user_id % _LOCK_BUCKETS for user_id in by_user}):
            connection.execute(text("SELECT pg_advisory_xact_lock(:namespace, :bucket)"),
                               {"namespace": _LOCK_NAMESPACE, "bucket": bucket})
    for users in _chunks(sorted(by_user)):
        # Every chosen student in every chosen course, recomputed whole: a pair not asked
        # for is only recomputed to what it already was.
        contexts = sorted(set().union(*(by_user[user_id] for user_id in users)))
        connection.execute(_TOTAL.delete().where(_TOTAL.c.user_id.in_(users),
                                                 _TOTAL.c.context_id.in_(contexts)))
        connection.execute(_recompute(and_(_ATTEMPT.c.user_id.in_(users),
                                           _LINK.c.context_id.in_(contexts))))


def refresh_all(connection: Connection) -> None:
    """Recompute every student's totals in every course at once (the migration: nothing else
    writes them yet; beside live traffic use ``refresh_everyone``)."""
    connection.execute(_TOTAL.delete())
    connection.execute(_recompute(None))


def refresh_everyone(session: Session, batch: int = 200) -> int:
    """Recompute every student's totals, ``batch`` students per transaction, beside live
    traffic (each student locked as a live recompute would be); returns the students done.

    Students with submitted attempts and students with stored rows both: a row whose
    attempts are all gone is removed. Who is in which course is read once, not per batch."""
    total = CourseElementTotal
    submitted = (select(Attempt.user_id, ResourceLink.context_id)
                 .join(ResourceLink, ResourceLink.id == Attempt.resource_link_id)
                 .where(Attempt.status == AttemptStatus.SUBMITTED))
    courses: dict[int, set[int]] = {}
    for user_id, context_id in session.execute(
            submitted.union(select(total.user_id, total.context_id))).tuples():
        courses.setdefault(user_id, set()).add(context_id)
    session.commit()  # no transaction left open while the batches run
    for users in _chunks(sorted(courses), batch):
        refresh(session.connection(), [(user_id, context_id) for user_id in users
                                       for context_id in courses[user_id]])
        session.commit()
    return len(courses)


def _recompute(where: Any) -> Any:
    """INSERT ... SELECT of the totals of the attempts ``where`` picks (None: all); plain
    tables, so that migration 0017 runs it whatever the models become."""
    attempt, link, score = _ATTEMPT.c, _LINK.c, _SCORE.c
    ranked = (select(attempt.id, attempt.user_id, link.context_id, attempt.pending_manual,
                     counted_rank("best", link.context_id, attempt.user_id, on=attempt)
                     .label("rank"))
              .join(_LINK, link.id == attempt.resource_link_id)
              .where(attempt.status == AttemptStatus.SUBMITTED.value))
    if where is not None:
        ranked = ranked.where(where)
    counted = ranked.subquery()
    pending = func.max(case((counted.c.pending_manual.is_(True), 1), else_=0)) > 0
    rows = (select(counted.c.context_id, counted.c.user_id, score.element, func.sum(score.earned),
                   func.sum(score.possible), pending)
            .join(_SCORE, score.attempt_id == counted.c.id).where(counted.c.rank == 1)
            .group_by(counted.c.context_id, counted.c.user_id, score.element))
    return _TOTAL.insert().from_select(
        ["context_id", "user_id", "element", "earned", "possible", "pending"], rows)


def stored_totals(session: Session, context_id: int,
                  user_ids: Iterable[int] | None = None) -> dict[int, dict[str, Total]]:
    """Per user and element, (points, max_points, pending) as stored for the course: what
    profile.mastery_totals gives for all the course's links when every version is installed."""
    total = CourseElementTotal
    query = select(total.user_id, total.element, total.earned, total.possible,
                   total.pending).where(total.context_id == context_id)
    if user_ids is not None:
        query = query.where(total.user_id.in_(list(user_ids)))
    return element_rows(session, query)


def stored_domain_totals(session: Session, plan: Plan,
                         context_id: int) -> dict[int, dict[str, tuple[float, float]]]:
    """Per user and DCS domain, (points, max_points) as stored for the course: what
    profile.domain_totals gives for all its links when every version is installed."""
    total = CourseElementTotal
    domain = domain_of(plan, total.element)
    if domain is None:
        return {}
    return domain_rows(session.connection().execute(
        select(total.user_id, domain, func.sum(total.earned), func.sum(total.possible))
        .where(total.context_id == context_id, domain.is_not(None))
        .group_by(total.user_id, domain)).all())
