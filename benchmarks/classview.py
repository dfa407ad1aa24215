"""The lecturer's class view for N students x 13 modules: server time and SQL statements.

Seeds N = 100, 300, 1,000 students (growing one database) through the tool's own services
(tests/classview/seed.py: attempt lifecycle, grades outbox, marking), then times the course
view (its first page of 100 students, with the summary over everyone), the link view, the CSV
export (everyone) and the marking queue through the app, counting SQL statements with
SQLAlchemy event listeners. Wall time and this process's CPU time are both shown (best of
three): on a machine shared with other jobs the CPU time is the steadier figure. Two baselines
run in the same process on the same data: the floor (one SELECT of every attempt's stored
figures in the course, what the class view read before it summed them in SQL) and the old path
(every attempt re-scored per page view, one grade query per student per link, as the class
view computed it before issue 11). The database also holds the rest of an institution's
outbox (`--other-outbox`, default 300,000 grade deliveries of another course) and most of the
class's scores are marked sent, as the grade worker would have sent them; at the end
each gunicorn worker's peak resident size is read after it served course views and CSVs.
Nothing here asserts a threshold.

    .venv/bin/python benchmarks/classview.py [--sizes 100,300,1000] [--postgres | --database-url URL]
"""

from __future__ import annotations

import argparse
import gc
import logging
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool import create_app, migrate  # noqa: E402
from lti_tool.attempts.profile import profile_of  # noqa: E402
from lti_tool.classview import gradebook  # noqa: E402
from lti_tool.classview import services as classview  # noqa: E402
from lti_tool.config import TestConfig  # noqa: E402
from lti_tool.content import Library  # noqa: E402
from lti_tool.models import (  # noqa: E402
    Attempt,
    Context,
    Deployment,
    Launch,
    LtiUser,
    Membership,
    ResourceLink,
)
from lti_tool.registrations import add_platform  # noqa: E402
from tests.classview.seed import seed_students  # noqa: E402

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
REPEATS = 3


class Counter:
    """SQL statements run on an engine while switched on."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def setup(app, db, library: Library):
    """A registration, a course with a link per installed module, and a lecturer's launch."""
    row = add_platform(db, issuer="https://vle.bench", client_id="bench",
                       auth_login_url="https://vle.bench/auth",
                       auth_token_url="https://vle.bench/token",
                       key_set_url="https://vle.bench/jwks", name="Bench VLE",
                       deployment_ids=("1",), auto_approve=True)
    db.flush()
    deployment = db.scalar(select(Deployment).where(Deployment.registration_id == row.id))
    context = Context(deployment_id=deployment.id, context_id="course-1", label="BENCH101",
                      title="Bench course")
    db.add(context)
    db.flush()
    modules = [m for m in library.modules() if m.id != "intro-digital-social-work"][:13]
    links = []
    for n, module in enumerate(modules):
        link = ResourceLink(context_id=context.id, resource_link_id=f"link-{n}",
                            title=module.title, custom={"module": module.id})
        db.add(link)
        links.append(link)
    lecturer = LtiUser(registration_id=row.id, sub="lecturer", name="Lena Lecturer")
    db.add(lecturer)
    db.flush()
    db.add(Membership(context_id=context.id, user_id=lecturer.id, roles=[INSTRUCTOR]))
    launch = Launch(id=secrets.token_urlsafe(24), deployment_id=deployment.id,
                    user_id=lecturer.id, context_id=context.id, resource_link_id=links[0].id,
                    message_type="LtiResourceLinkRequest", roles=[INSTRUCTOR], claims={})
    db.add(launch)
    db.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = lecturer.id
        session["launches"] = [launch.id]
    return context, links, lecturer, launch.id, client


def other_courses(db, context: Context, rows: int, links: int = 10,
                  per_pair: int = 3) -> list[int]:
    """The rest of an institution's outbox: another course of the same deployment whose
    students' scores fill `rows` grade_delivery rows (bulk inserted; the class view must not
    slow down as other courses' outboxes grow). Returns the other course's link ids."""
    from sqlalchemy import insert

    from lti_tool.models.base import utcnow
    from lti_tool.models.grades import DeliveryStatus, GradeDelivery

    other = Context(deployment_id=context.deployment_id, context_id="course-2", label="OTHER",
                    title="Another course")
    db.add(other)
    db.flush()
    link_ids = []
    for n in range(links):
        link = ResourceLink(context_id=other.id, resource_link_id=f"other-{n}", title=f"A{n}")
        db.add(link)
        db.flush()
        link_ids.append(link.id)
    registration = db.scalar(select(Deployment.registration_id).where(
        Deployment.id == context.deployment_id))
    users = -(-rows // (links * per_pair))
    db.execute(insert(LtiUser), [{"registration_id": registration, "sub": f"other-{u}"}
                                 for u in range(users)])
    user_ids = list(db.scalars(select(LtiUser.id).where(LtiUser.sub.like("other-%"))))
    now = utcnow()
    batch: list[dict] = []
    added = 0
    for user_id in user_ids:
        for link_id in link_ids:
            for k in range(per_pair):
                if added == rows:
                    break
                # A started score replaced before it was sent, then delivered ones.
                sent = k > 0
                batch.append({"user_id": user_id, "resource_link_id": link_id,
                              "score_given": float(k) if sent else None,
                              "score_maximum": 10.0, "lineitem_spec": {},
                              "activity_progress": "Completed" if sent else "Started",
                              "grading_progress": "FullyGraded" if sent else "NotReady",
                              "score_timestamp": now + timedelta(seconds=k),
                              "status": DeliveryStatus.DELIVERED if sent else
                              DeliveryStatus.SUPERSEDED, "delivered_at": now if sent else None})
                added += 1
        if len(batch) >= 20_000:
            db.execute(insert(GradeDelivery), batch)
            batch = []
    if batch:
        db.execute(insert(GradeDelivery), batch)
    db.commit()
    return link_ids


def other_courses_attempts(db, link_ids, others, user_ids, copies: int = 10) -> int:
    """The rest of an institution's attempts: the given students' attempts in the class
    copied `copies` times into the other course's links (`others`), with their element scores
    (bulk INSERT ... SELECT) and their course totals, so that a plan that reads every course's
    scores shows in the figures. Returns how many attempts the other course now has."""
    from sqlalchemy import and_, case, func, insert

    from lti_tool.models import AttemptElementScore

    attempt, score = Attempt.__table__, AttemptElementScore.__table__
    # Each class link onto one of the other course's, numbers kept apart so that (user, link,
    # number) stays unique; ids far above the class's own.
    target = case({link: others[n % len(others)] for n, link in enumerate(link_ids)},
                  value=attempt.c.resource_link_id)
    apart = case({link: 50 * (n // len(others)) for n, link in enumerate(link_ids)},
                 value=attempt.c.resource_link_id)
    mine = and_(attempt.c.resource_link_id.in_(link_ids), attempt.c.user_id.in_(user_ids))
    names = [c.name for c in attempt.c]
    for k in range(1, copies + 1):
        offset = 10_000_000 * k
        changed = {"id": attempt.c.id + offset, "resource_link_id": target,
                   "number": attempt.c.number + 100 * k + apart}
        db.execute(insert(attempt).from_select(names, select(
            *(changed.get(name, attempt.c[name]) for name in names)).where(mine)))
        db.execute(insert(score).from_select(
            ["attempt_id", "element", "earned", "possible"],
            select(score.c.attempt_id + offset, score.c.element, score.c.earned,
                   score.c.possible).where(score.c.attempt_id.in_(
                       select(attempt.c.id).where(mine)))))
    # Their course totals too, as the tool keeps them (the copies bypassed the ORM).
    from lti_tool.attempts.totals import refresh_all

    refresh_all(db.connection())
    db.commit()
    return db.scalar(select(func.count()).select_from(attempt).where(
        attempt.c.resource_link_id.in_(others)))


def sent_to_gradebook(db, link_ids) -> None:
    """What the grade worker would have done meanwhile: nine in ten waiting scores delivered,
    one in a hundred refused, the rest still waiting (the seed leaves every score waiting, and
    a real class's grade column mostly reads "Sent to the gradebook on ...")."""
    from sqlalchemy import and_, update

    from lti_tool.models.base import utcnow
    from lti_tool.models.grades import DeliveryStatus, GradeDelivery

    waiting = and_(GradeDelivery.resource_link_id.in_(link_ids),
                   GradeDelivery.status == DeliveryStatus.PENDING)
    db.execute(update(GradeDelivery).where(waiting, GradeDelivery.id % 100 == 0).values(
        status=DeliveryStatus.FAILED_PERMANENT, attempts=1, last_error_status=400,
        last_error_explanation="The VLE refused the score: the grade item is locked.",
        updated_at=utcnow()))
    db.execute(update(GradeDelivery).where(waiting, GradeDelivery.id % 10 != 0).values(
        status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=utcnow(), updated_at=utcnow()))
    db.commit()


def refresh_statistics(db) -> None:
    """VACUUM ANALYZE after bulk seeding, as PostgreSQL's autovacuum does within a minute of
    that many inserts: planner statistics, and pages marked all-visible (freshly written
    rows cost a visibility check on every read; the class summary's query took 140 ms
    before and 95 ms after). SQLite's planner keeps no statistics unless asked."""
    if db.get_bind().dialect.name != "postgresql":
        return
    db.commit()
    raw = db.get_bind().raw_connection()  # VACUUM cannot run in a transaction
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def worker_memory(url: str, workdir: Path, launch_id: str, cookie, secret: str) -> None:
    """Each gunicorn worker's peak resident size (VmHWM) serving the course view and the CSV
    a few times, under deploy/gunicorn.conf.py on the benchmark's database, with the
    lecturer's session `cookie` (signed with `secret`)."""
    from benchmarks.launch import Gunicorn, children, free_port
    from lti_tool.keys import Keyring

    if not (workdir / "keys").exists():
        Keyring(workdir / "keys").generate()
    port = free_port()
    server = Gunicorn("lti_tool.wsgi:app", {
        "LTI_TOOL_DATABASE_URL": url, "LTI_TOOL_INSTANCE_DIR": str(workdir / "instance"),
        "LTI_TOOL_KEYS_DIR": str(workdir / "keys"), "LTI_TOOL_SECRET_KEY": secret,
        "LTI_TOOL_BASE_URL": f"http://127.0.0.1:{port}", "LTI_TOOL_TRUSTED_PROXIES": "0",
        "LTI_TOOL_LOG_LEVEL": "warning"}, workdir / "gunicorn.log", port=port)
    try:
        deadline = time.monotonic() + 30  # gunicorn forks its workers in turn
        while len(workers := children(server.process.pid)) < Gunicorn.WORKERS:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn started {len(workers)} of {Gunicorn.WORKERS} workers")
            time.sleep(0.1)
        before = {pid: _status(pid, "VmRSS") for pid in workers}
        for _ in range(6):  # a connection each, so that both workers serve pages
            for path in ("course", "course/export.csv"):
                response = requests.get(f"{server.url}/c/{launch_id}/{path}", timeout=120,
                                        cookies={cookie.key: cookie.value})
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
        peaks = {pid: _status(pid, "VmHWM") for pid in workers}
        # VmHWM counts pages shared with the master (preload_app) in each worker; the largest
        # is what one worker needs. A worker that served nothing stays near its start size.
        print("gunicorn workers after 6 course views and 6 CSVs, a connection each: "
              + "; ".join(f"{before[pid] / 1024:.0f} MB after start, peak {peaks[pid] / 1024:.0f}"
                          for pid in workers)
              + f" (largest peak {max(peaks.values()) / 1024:.0f} MB)")
    finally:
        server.stop()


def _status(pid: int, field: str) -> int:
    """A kB figure from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def timed(work, counter: Counter) -> tuple[float, float, int, object]:
    """Best wall and CPU times of REPEATS runs (seconds), statements of one run, last result."""
    best, best_cpu, statements, result = float("inf"), float("inf"), 0, None
    for _ in range(REPEATS):
        gc.collect()
        before = counter.count
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        statements = counter.count - before
    return best, best_cpu, statements, result


def old_class_view(app, library: Library, launch_id: str) -> int:
    """The class view as computed before issue 11: re-score everything, a grade query per
    student per link. Returns the number of students."""
    with app.app_context():
        from lti_tool.db import get_session

        db = get_session()
        launch = db.get(Launch, launch_id)
        scope = classview.class_scope(db, launch, "course")
        attempts = classview.scope_attempts(db, scope)
        by_user: dict[int, list[Attempt]] = {}
        for attempt in attempts:
            by_user.setdefault(attempt.user_id, []).append(attempt)
        for user_id, mine in by_user.items():
            profile_of(library, mine, counting=scope.counting)
            for link in scope.links:
                if any(a.resource_link_id == link.id and a.status.value == "submitted"
                       for a in mine):
                    gradebook.delivery_status(db, user_id, link.id)
        return len(by_user)


# What the class view read of every attempt before it summed figures in SQL.
STORED_COLUMNS = (Attempt.id, Attempt.user_id, Attempt.resource_link_id, Attempt.number,
                  Attempt.module_id, Attempt.module_version, Attempt.status,
                  Attempt.updated_at, Attempt.submitted_at,
                  Attempt.percent, Attempt.pending_manual, Attempt.element_points)


def floor(app, link_ids) -> int:
    """The floor: every attempt's stored figures in the course, one SELECT."""
    with app.app_context():
        from lti_tool.db import get_session

        return len(get_session().execute(select(*STORED_COLUMNS).where(
            Attempt.resource_link_id.in_(link_ids)).order_by(Attempt.created_at, Attempt.id))
            .all())


def get(client, url: str):
    """A page through the app, read to the end (a streamed CSV too)."""
    def work():
        response = client.get(url)
        body = response.get_data()
        assert response.status_code == 200, (url, body[:300])
        return len(body)
    return work


def run(sizes: list[int], database_url: str | None, old_up_to: int, outbox: int) -> None:
    """Seed growing classes and print one table per size."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("lti_tool.classview.roster").setLevel(logging.ERROR)  # no NRPS here
    workdir = Path(tempfile.mkdtemp(prefix="classview-bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    migrate.upgrade(url)
    # A secret a production process accepts, so gunicorn reads this app's session cookie.
    secret = secrets.token_hex(32)
    app = create_app(TestConfig(INSTANCE_DIR=workdir / "instance", SQLALCHEMY_DATABASE_URL=url,
                                KEYS_DIR=workdir / "keys", BASE_URL="http://localhost",
                                SECRET_KEY=secret))
    library = Library()
    counter = Counter(app.extensions["lti_tool.engine"])
    db = app.extensions["lti_tool.sessionmaker"]()
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    try:
        context, links, lecturer, launch_id, client = setup(app, db, library)
        link_ids = [link.id for link in links]
        others: list[int] = []
        if outbox:
            start = time.perf_counter()
            others = other_courses(db, context, outbox)
            print(f"other courses' outbox: {outbox} grade deliveries "
                  f"(seeded in {time.perf_counter() - start:.0f} s)")
        seeded = 0
        for size in sizes:
            start = time.perf_counter()
            users = seed_students(db, library, context, links, range(seeded, size),
                                  marker=lecturer)
            print(f"\nN = {size} students x {len(links)} modules [{kind}] "
                  f"(seeded {size - seeded} in {time.perf_counter() - start:.0f} s)")
            if others:
                start = time.perf_counter()
                copied = other_courses_attempts(db, link_ids, others, [u.id for u in users])
                print(f"other courses' attempts: {copied}, with their element scores "
                      f"(copied in {time.perf_counter() - start:.0f} s)")
            seeded = size
            sent_to_gradebook(db, link_ids)
            refresh_statistics(db)
            base, base_cpu, base_statements, rows = timed(lambda: floor(app, link_ids), counter)
            print(f"{'figure':<28}{'ms':>8}{'CPU ms':>8}{'statements':>12}{'x floor':>9}"
                  f"{'bytes':>10}")
            print(f"{'floor: SELECT attempts':<28}{base * 1000:8.1f}{base_cpu * 1000:8.1f}"
                  f"{base_statements:12d}{1.0:9.1f}{rows:10d} rows")
            for name, path in (("course view (page 1)", "course"), ("link view", "link"),
                               ("CSV (course, everyone)", "course/export.csv"),
                               ("marking queue (page 1)", "marking")):
                seconds, cpu, statements, size_bytes = timed(
                    get(client, f"/c/{launch_id}/{path}"), counter)
                print(f"{name:<28}{seconds * 1000:8.1f}{cpu * 1000:8.1f}{statements:12d}"
                      f"{seconds / base:9.1f}{size_bytes:10d}")
            if size <= old_up_to:
                seconds, cpu, statements, _ = timed(
                    lambda: old_class_view(app, library, launch_id), counter)
                print(f"{'old path (mastery+grades)':<28}{seconds * 1000:8.1f}{cpu * 1000:8.1f}"
                      f"{statements:12d}{seconds / base:9.1f}")
        for name, path in (("course view", "course"), ("CSV", "course/export.csv")):
            tracemalloc.start()
            get(client, f"/c/{launch_id}/{path}")()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"peak Python memory of one {name} at N = {seeded}: "
                  f"{peak / 2**20:.0f} MB (tracemalloc)")
        print(f"this process's peak resident size, seeding included: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        worker_memory(url, workdir, launch_id,
                      client.get_cookie(app.config["SESSION_COOKIE_NAME"]), secret)
    finally:
        db.close()
        app.extensions["lti_tool.engine"].dispose()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--old-up-to", type=int, default=300,
                        help="run the old re-scoring path up to this N (it is slow)")
    parser.add_argument("--other-outbox", type=int, default=300_000,
                        help="grade deliveries of other courses in the same database")
    parser.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not args.postgres:
        run(sizes, args.database_url, args.old_up_to, args.other_outbox)
        return
    from tests.pg import throwaway_database

    with throwaway_database() as url:
        run(sizes, url, args.old_up_to, args.other_outbox)


if __name__ == "__main__":
    main()
