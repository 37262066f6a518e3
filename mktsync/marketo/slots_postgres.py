"""The slots of one Marketo instance in PostgreSQL, shared by runners on any machine.

>>> book = PostgresSlots(url, "123-abc-456.mktorest.com", capacity=100, concurrency=10)  # doctest: +SKIP

Three tables in the URL's current schema (beside the ledger's, when it is the ledger's
URL): ``mktsync_limit_slots`` (instance, kind ``r``/``c``, number, ``free_at``, owner,
call), one row per slot of ``slots``' model, ``mktsync_limit_holds`` (instance, until,
code): the 606 hold, and ``mktsync_limit_rooms`` (instance, Marketo day, calls left): the
day's room under ``quota_reserve`` that ``slots`` describes.  A call that names its day
locks that row (or a newer day's: ``FOR UPDATE``) in its take statement, and takes a unit only if it took
both slots; with no unit left it takes nothing.  The row lock is held for that one
statement: runs on one instance take their turns on it, a statement each.  Times are the server's clock (epoch seconds), the one clock every
runner shares however far apart their own clocks are; ``now`` replaces it in tests.

**Why rows taken with ``FOR UPDATE SKIP LOCKED``, not advisory locks.**  A rate slot must
outlive its call by a window (its ``free_at``), so the state has to be rows in any case;
a session advisory lock would free a concurrency slot at once on a crash, but ties each
slot to a connection (a connection per call in flight) and still needs the rows for the
window.  With rows, one statement takes a slot:

- *Correct under concurrent processes.*  The statement picks a free concurrency row and a
  free rate row with ``FOR UPDATE SKIP LOCKED`` and updates both only if both were found.
  A row lock is held by one transaction at a time, and PostgreSQL checks ``free_at <=
  now`` again on the row's newest version before it locks it (READ COMMITTED), so no two
  processes ever take one slot, and no slot is taken before it is free.  Processes do
  not queue on one lock either: a row another process is taking is skipped, not waited
  for.  A process holding rows it could not use (a concurrency row, no rate row) holds
  them only for its one statement.
- *What a crash leaves.*  Rows taken with a lease: ``free_at`` is the lease's end (plus
  a window for a rate slot), renewed by the living process every third of a lease while
  its call is in flight (``shared_limits.LEASE``).  A process killed by SIGKILL, or a
  machine lost, stops renewing; its slots come free on their own, at the end of the
  lease (concurrency) and one window later (rate).  No one has to clean up; a
  transaction cut short by the crash rolls back and takes nothing.
- *Round trips.*  One to take the two slots (answering, when there are none, how long
  to wait: the hold, the earliest ``free_at``), one to give them back; one every third
  of a lease per process while calls are in flight (all its slots at once); one to
  record a 606.  A call that waits asks again when the earliest slot comes free (one
  process thread at a time asks, ``shared_limits``); one at most every ``LOOK_EVERY``
  seconds per process to read how the slots stand, for apply's ETA (``look``).  Setting up (once per run): the
  tables and this instance's rows, created if missing under an advisory transaction
  lock, so two first runs cannot trip over each other.

A slot or hold no process writes -- NaN, infinite, or more than ``slots.FAR`` ahead (an
older mktsync, a hostile process, a hand edit) -- is damage (``slots``, "Times are
finite and near"): each take counts such rows of its instance (PostgreSQL sorts NaN above
every number, so one comparison with ``now + FAR`` finds NaN and infinity alike) and,
finding any, raises ``LimiterUnavailable`` with the statements that clear them.  Nothing
that is not a finite, near time is ever written (``slots.check_times``).

The connection is autocommit (every statement is its own transaction), with a statement
timeout, and is made again once if it breaks; failing that, ``LimiterUnavailable``: the
limiter stops the run rather than guess.
"""

from __future__ import annotations

import threading
from typing import Any

from mktsync.config.dburl import connect_options, redact, url_secrets
from mktsync.marketo.codes import LimiterUnavailable
from mktsync.marketo.slots import FAR, Claim, Grant, Window, check_times, far_off, wait_hint

_LOCK_CLASS = 0x6D6B7473  # "mkts": mktsync's advisory lock namespace (the ledger's 1 and 2)
_SETUP_LOCK = 3
STATEMENT_TIMEOUT = "15s"
TCP_USER_TIMEOUT = "15000"  # ms: a server that stops answering is lost, not waited on

_NOW = "COALESCE(%(now)s::float8, extract(epoch FROM statement_timestamp())::float8)"

_CREATE = (
    """CREATE TABLE IF NOT EXISTS mktsync_limit_slots (
        instance text NOT NULL,
        kind char(1) NOT NULL CHECK (kind IN ('r', 'c')),
        n integer NOT NULL,
        free_at float8 NOT NULL DEFAULT 0,
        owner text,
        call bigint,
        PRIMARY KEY (instance, kind, n))""",
    """CREATE TABLE IF NOT EXISTS mktsync_limit_holds (
        instance text PRIMARY KEY,
        until float8 NOT NULL,
        code text)""",
    """CREATE TABLE IF NOT EXISTS mktsync_limit_rooms (
        instance text NOT NULL,
        day text NOT NULL,
        room bigint NOT NULL,
        PRIMARY KEY (instance, day))""",
)
_TABLES = ("mktsync_limit_slots", "mktsync_limit_holds", "mktsync_limit_rooms")

_TAKE = f"""
WITH t AS (SELECT {_NOW} AS now),
h AS (SELECT until FROM mktsync_limit_holds, t WHERE instance = %(i)s AND until > t.now),
q AS (
  SELECT day, room FROM mktsync_limit_rooms WHERE instance = %(i)s AND day >= %(day)s
  ORDER BY day DESC LIMIT 1 FOR UPDATE),
c AS (
  SELECT s.n FROM mktsync_limit_slots s, t
  WHERE s.instance = %(i)s AND s.kind = 'c' AND s.n < %(conc)s AND s.free_at <= t.now
    AND NOT EXISTS (SELECT 1 FROM h) AND NOT EXISTS (SELECT 1 FROM q WHERE q.room <= 0)
  ORDER BY s.n DESC LIMIT 1 FOR UPDATE OF s SKIP LOCKED),
r AS (
  SELECT s.n FROM mktsync_limit_slots s, t
  WHERE s.instance = %(i)s AND s.kind = 'r' AND s.n < %(cap)s AND s.free_at <= t.now
    AND NOT EXISTS (SELECT 1 FROM h) AND NOT EXISTS (SELECT 1 FROM q WHERE q.room <= 0)
  ORDER BY s.n DESC LIMIT 1 FOR UPDATE OF s SKIP LOCKED),
tq AS (
  UPDATE mktsync_limit_rooms m SET room = m.room - 1
  FROM c, r, q WHERE m.instance = %(i)s AND m.day = q.day RETURNING m.room),
tc AS (
  UPDATE mktsync_limit_slots s SET free_at = t.now + %(lease)s, owner = %(o)s, call = %(call)s
  FROM c, r, t WHERE s.instance = %(i)s AND s.kind = 'c' AND s.n = c.n RETURNING s.n),
tr AS (
  UPDATE mktsync_limit_slots s
  SET free_at = t.now + %(lease)s + %(window)s, owner = %(o)s, call = %(call)s
  FROM c, r, t WHERE s.instance = %(i)s AND s.kind = 'r' AND s.n = r.n RETURNING s.n)
SELECT (SELECT n FROM tc), (SELECT n FROM tr), t.now, COALESCE((SELECT until FROM h), 0),
  (SELECT min(free_at) FROM mktsync_limit_slots
   WHERE instance = %(i)s AND kind = 'r' AND n < %(cap)s),
  (SELECT min(free_at) FROM mktsync_limit_slots
   WHERE instance = %(i)s AND kind = 'c' AND n < %(conc)s),
  COALESCE((SELECT room FROM q), 1), (SELECT count(*) FROM tq),
  (SELECT count(*) FROM mktsync_limit_slots WHERE instance = %(i)s AND free_at > t.now + %(far)s)
  + (SELECT count(*) FROM mktsync_limit_holds WHERE instance = %(i)s AND until > t.now + %(far)s)
FROM t
"""

# The day's room: lowered to a fresh read's, never raised; earlier days dropped (slots).
_SHARE_ROOM = """
WITH gone AS (DELETE FROM mktsync_limit_rooms WHERE instance = %(i)s AND day < %(day)s)
INSERT INTO mktsync_limit_rooms (instance, day, room) VALUES (%(i)s, %(day)s, %(room)s)
ON CONFLICT (instance, day) DO UPDATE
SET room = GREATEST(0, LEAST(mktsync_limit_rooms.room - 1, excluded.room))
RETURNING room
"""

_RENEW = f"""
UPDATE mktsync_limit_slots
SET free_at = t.now + %(lease)s + CASE kind WHEN 'r' THEN %(window)s ELSE 0 END
FROM (SELECT {_NOW} AS now) t
WHERE instance = %(i)s AND owner = %(o)s AND call IS NOT NULL
"""

_RELEASE = f"""
UPDATE mktsync_limit_slots
SET free_at = CASE WHEN kind = 'r' AND %(sent)s THEN t.now + %(window)s ELSE 0 END,
    owner = NULL, call = NULL
FROM (SELECT {_NOW} AS now) t
WHERE instance = %(i)s AND owner = %(o)s AND call = %(call)s
"""

_LOOK = f"""
SELECT t.now,
  (SELECT array_agg(free_at ORDER BY free_at) FROM mktsync_limit_slots
   WHERE instance = %(i)s AND kind = 'r' AND n < %(cap)s AND owner IS NULL AND free_at > t.now),
  (SELECT count(*) FROM mktsync_limit_slots
   WHERE instance = %(i)s AND kind = 'r' AND n < %(cap)s AND owner IS NOT NULL
     AND free_at > t.now),
  COALESCE((SELECT until FROM mktsync_limit_holds WHERE instance = %(i)s), 0)
FROM (SELECT {_NOW} AS now) t
"""

_HOLD = f"""
INSERT INTO mktsync_limit_holds (instance, until, code)
SELECT %(i)s, t.now + %(s)s, %(code)s FROM (SELECT {_NOW} AS now) t
ON CONFLICT (instance) DO UPDATE
SET until = GREATEST(mktsync_limit_holds.until, excluded.until), code = excluded.code
"""


class PostgresSlots:
    """The slots of instance ``key`` in the database at ``url``; see the module docstring.

    Made with the limits of this process, whose slot rows it creates if missing.  Raises
    ``LimiterUnavailable`` when the database cannot be reached or the tables made.
    """

    def __init__(self, url: str, key: str, *, capacity: int, concurrency: int) -> None:
        self.name = f"PostgreSQL {redact(url)}"
        self._url = url
        self._key = key
        self._lock = threading.Lock()
        self._conn: Any = None
        with self._lock:
            self._connect()
            self._setup(capacity, concurrency)

    def __repr__(self) -> str:
        return f"PostgresSlots({self.name!r}, {self._key!r})"

    def take(self, claim: Claim, now: float | None) -> Grant:
        check_times(self.name, lease=claim.lease, window=claim.window)
        row = self._one(
            _TAKE,
            {
                "now": now,
                "i": self._key,
                "conc": claim.concurrency,
                "cap": claim.capacity,
                "lease": claim.lease,
                "window": claim.window,
                "o": claim.owner,
                "call": claim.call,
                "day": claim.day,
                "far": FAR,
            },
        )
        taken_c, taken_r, at, hold_until, rate_next, conc_next, room, _, damaged = row
        if damaged:
            # Taken or not, this process cannot know what the instance's window holds.
            if taken_c is not None and taken_r is not None:
                self.release(claim.owner, claim.call, window=claim.window, sent=False, now=now)
            raise LimiterUnavailable(self._damaged(f"{damaged} of its slots and holds"))
        if taken_c is not None and taken_r is not None:
            return Grant(taken=True)
        if room <= 0:
            return Grant(taken=False, why="room")
        return wait_hint(
            now=at, hold_until=hold_until, rate_next=rate_next, concurrency_next=conc_next
        )

    def renew(self, owner: str, *, lease: float, window: float, now: float | None) -> None:
        check_times(self.name, lease=lease, window=window)
        self._run(
            _RENEW, {"now": now, "i": self._key, "o": owner, "lease": lease, "window": window}
        )

    def release(
        self, owner: str, call: int, *, window: float, sent: bool, now: float | None
    ) -> None:
        check_times(self.name, window=window)
        self._run(
            _RELEASE,
            {"now": now, "i": self._key, "o": owner, "call": call, "window": window, "sent": sent},
        )

    def look(self, capacity: int, now: float | None) -> Window:
        """How the rate slots stand: one read, no lock taken on any row."""
        at, finished, in_flight, hold_until = self._one(
            _LOOK, {"now": now, "i": self._key, "cap": capacity}
        )
        times = [float(f) for f in finished or ()]
        if any(far_off(t, float(at)) for t in (*times, float(hold_until))):
            raise LimiterUnavailable(self._damaged("a slot or hold"))
        return Window(
            now=float(at),
            finished=tuple(times),
            in_flight=int(in_flight),
            hold_until=float(hold_until),
        )

    def hold(self, seconds: float, *, code: str, now: float | None) -> None:
        check_times(self.name, hold=seconds)
        self._run(_HOLD, {"now": now, "i": self._key, "s": seconds, "code": code})

    def share_room(self, day: str, room: int, *, now: float | None) -> int:
        """Lower ``day``'s room to ``room``, never raise it (``slots``); the room left."""
        row = self._one(_SHARE_ROOM, {"i": self._key, "day": day, "room": max(0, room)})
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- the connection ------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            import psycopg
        except ImportError:
            raise LimiterUnavailable(
                f"{self.name}: shared limits in PostgreSQL need psycopg: "
                "pip install 'mktsync[postgres]'; nothing was sent"
            ) from None
        from psycopg.conninfo import conninfo_to_dict

        from mktsync.config.dburl import libpq_options

        try:
            # Parsing is inside: a malformed URL (``[::1`` without its ``]``) is this
            # store's plain error, never an internal one quoting the URL.
            options = connect_options(self._url)
            if "tcp_user_timeout" in libpq_options() and (
                "tcp_user_timeout" not in conninfo_to_dict(self._url)
            ):
                options["tcp_user_timeout"] = TCP_USER_TIMEOUT
            self._conn = psycopg.connect(self._url, autocommit=True, **options)
            self._conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        except psycopg.Error as exc:
            self._conn = None
            # ProgrammingError: libpq could not read the URL (nothing was dialled).
            what = (
                "cannot be read"
                if isinstance(exc, psycopg.ProgrammingError)
                else "cannot be reached"
            )
            raise LimiterUnavailable(self._failure(what, exc)) from None

    def _setup(self, capacity: int, concurrency: int) -> None:
        import psycopg

        try:
            with self._conn.transaction():
                self._conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _SETUP_LOCK)
                )
                for table, create in zip(_TABLES, _CREATE, strict=True):
                    # Checked first: CREATE ... IF NOT EXISTS needs the right to create
                    # even when the table is there, and a role may have only the tables.
                    if self._conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                        self._conn.execute(create)
                for kind, count in (("r", capacity), ("c", concurrency)):
                    self._conn.execute(
                        "INSERT INTO mktsync_limit_slots (instance, kind, n)"
                        " SELECT %s, %s, g FROM generate_series(0, %s - 1) g"
                        " ON CONFLICT DO NOTHING",
                        (self._key, kind, count),
                    )
        except psycopg.Error as exc:
            self._close_quietly()
            raise LimiterUnavailable(self._failure("cannot be set up", exc)) from None

    def _one(self, sql: str, params: dict[str, Any]) -> Any:
        rows = self._run(sql, params)
        assert rows, "the take statement returns one row"
        return rows[0]

    def _run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Run one statement; a broken connection is made again once, then given up."""
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._connect()
                    cursor = self._conn.execute(sql, params)
                    return list(cursor.fetchall()) if cursor.description else []
                except psycopg.OperationalError as exc:
                    self._close_quietly()
                    if attempt == 2:
                        raise LimiterUnavailable(self._failure("cannot be reached", exc)) from None
                except psycopg.Error as exc:
                    raise LimiterUnavailable(self._failure("failed", exc)) from None
        raise AssertionError("unreachable")

    def _close_quietly(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _damaged(self, which: str) -> str:
        k = self._key.replace("'", "''")
        return (
            f"{self.name}: the shared limits of {self._key} are damaged ({which} NaN, "
            "infinite or more than a day ahead); when no mktsync apply is running, clear "
            f"them: UPDATE mktsync_limit_slots SET free_at = 0, owner = NULL, call = NULL "
            f"WHERE instance = '{k}'; DELETE FROM mktsync_limit_holds WHERE instance = '{k}'"
        )

    def _failure(self, what: str, exc: Exception) -> str:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        text = text.replace(self._url, redact(self._url))
        for secret in url_secrets(self._url):
            text = text.replace(secret, "***")
        return f"{self.name} {what}: {text}"
