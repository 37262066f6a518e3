"""The ledger's tables, as a list of forward migrations applied in order.

The version lives in the single-row ``ledger_meta`` table (both backends read it
the same way), beside the ledger's random id and its generation counter, which
every change to item records bumps (``Ledger.fingerprint``).  Migrations only
ever move forward; a database from a newer mktsync is refused, not touched.
To change the schema, append a ``Migration``; never edit a released one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mktsync.errors import LedgerError
from mktsync.ledger.integrity import lead_checksum, record_checksum
from mktsync.ledger.store import Dialect, Tx


@dataclass(frozen=True, kw_only=True)
class Migration:
    """Statements that take the schema from ``version - 1`` to ``version``, per dialect."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]
    after: Callable[[Tx], None] | None = None  # data the statements cannot compute in SQL

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


_ITEM_COLUMNS = """
    lead TEXT NOT NULL,
    tokens TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unknown')),
    attempts INTEGER NOT NULL,
    request_id TEXT,
    error_code TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
"""

_RUN_COLUMNS = """
    command TEXT NOT NULL,
    config_digest TEXT,
    git_commit TEXT,
    who TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT,
    exit_status INTEGER,
    note TEXT
"""

_META = """CREATE TABLE ledger_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    ledger_id TEXT NOT NULL,
    generation BIGINT NOT NULL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="items and runs",
        sqlite=(
            _META,
            f"CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, {_RUN_COLUMNS})",
            # WITHOUT ROWID: the primary key is the table, so lookups read one b-tree.
            f"""CREATE TABLE items (campaign_id INTEGER NOT NULL, key TEXT NOT NULL,
                lead_id INTEGER, run_id INTEGER, {_ITEM_COLUMNS}
                PRIMARY KEY (campaign_id, key)) WITHOUT ROWID""",
        ),
        postgresql=(
            _META,
            f"CREATE TABLE runs (run_id BIGSERIAL PRIMARY KEY, {_RUN_COLUMNS})",
            f"""CREATE TABLE items (campaign_id BIGINT NOT NULL, key TEXT NOT NULL,
                lead_id BIGINT, run_id BIGINT, {_ITEM_COLUMNS}
                PRIMARY KEY (campaign_id, key))""",
            # Who holds the run lock (the lock itself is a session-level advisory lock).
            """CREATE TABLE run_lock (id INTEGER PRIMARY KEY CHECK (id = 1),
                pid INTEGER NOT NULL, who TEXT NOT NULL, command TEXT NOT NULL,
                since TEXT NOT NULL, backend_pid INTEGER NOT NULL)""",
        ),
    ),
    Migration(
        version=2,
        description="status index (lock recovery, status counts) and the email -> lead id cache",
        sqlite=(
            "CREATE INDEX items_status ON items (status)",
            """CREATE TABLE lead_cache (email TEXT PRIMARY KEY, lead_id INTEGER NOT NULL,
                updated_at TEXT NOT NULL) WITHOUT ROWID""",
        ),
        postgresql=(
            "CREATE INDEX items_status ON items (status)",
            """CREATE TABLE lead_cache (email TEXT PRIMARY KEY, lead_id BIGINT NOT NULL,
                updated_at TEXT NOT NULL)""",
        ),
    ),
)


def _checksum_existing(tx: Tx) -> None:
    """Give every record and cache entry its checksum (BLAKE2b is not SQL in either backend)."""
    rows = tx.execute("SELECT campaign_id, key, status, token_hash, lead FROM items")
    tx.executemany(
        "UPDATE items SET checksum = ? WHERE campaign_id = ? AND key = ?",
        [(record_checksum(c, k, s, h, lead), c, k) for c, k, s, h, lead in rows],
    )
    cached = tx.execute("SELECT email, lead_id FROM lead_cache")
    tx.executemany(
        "UPDATE lead_cache SET checksum = ? WHERE email = ?",
        [(lead_checksum(email, lead_id), email) for email, lead_id in cached],
    )


MIGRATIONS += (
    Migration(
        version=3,
        description="per-record checksums; SQLite: the clean-close and lost-WAL markers",
        sqlite=(
            "ALTER TABLE items ADD COLUMN checksum TEXT",
            "ALTER TABLE lead_cache ADD COLUMN checksum TEXT",
            # 1 from a run's start to its clean end: if still 1, check the file first.
            "ALTER TABLE ledger_meta ADD COLUMN unclean INTEGER NOT NULL DEFAULT 0",
            # Set (and checkpointed into the main file) while a run writes: found set
            # with no -wal file beside it, the run's last commits were lost.
            "ALTER TABLE ledger_meta ADD COLUMN wal_guard TEXT",
        ),
        postgresql=(
            "ALTER TABLE items ADD COLUMN checksum TEXT",
            "ALTER TABLE lead_cache ADD COLUMN checksum TEXT",
        ),
        after=_checksum_existing,
    ),
    Migration(
        version=4,
        description="emails Marketo did not know at the last lookup (the plan forecasts them)",
        sqlite=(
            """CREATE TABLE lead_misses (email TEXT PRIMARY KEY, missed_at TEXT NOT NULL)
                WITHOUT ROWID""",
        ),
        postgresql=("CREATE TABLE lead_misses (email TEXT PRIMARY KEY, missed_at TEXT NOT NULL)",),
    ),
)

MIGRATIONS += (
    Migration(
        version=5,
        description="the Marketo instance (base URL host) a ledger belongs to",
        sqlite=("ALTER TABLE ledger_meta ADD COLUMN instance TEXT",),
        postgresql=("ALTER TABLE ledger_meta ADD COLUMN instance TEXT",),
    ),
)

LATEST = MIGRATIONS[-1].version


def read_version(tx: Tx, *, name: str = "ledger") -> int:
    """The schema version of a database known to hold ``ledger_meta`` (``name`` for messages)."""
    rows = tx.execute("SELECT schema_version FROM ledger_meta WHERE id = 1")
    if not rows:  # the one row every ledger has: lost to damage, or deleted by hand
        raise LedgerError(
            f"{name}: the ledger is damaged (its header row is missing); it was left "
            "untouched. Restore it from a backup; moving it aside starts an empty ledger, "
            "which forgets what was sent"
        )
    return int(rows[0][0])


def check_version(version: int, *, name: str) -> None:
    """Refuse a ledger made by a newer mktsync: we cannot know what its schema means."""
    if version > LATEST:
        raise LedgerError(
            f"{name}: ledger schema version {version} is newer than this mktsync "
            f"understands ({LATEST}); upgrade mktsync"
        )


def migrate(tx: Tx, dialect: Dialect, current: int, *, name: str) -> int:
    """Bring a database at ``current`` (0: empty) to ``LATEST``; return the version reached.

    Run inside one transaction that excludes other writers, so that two runs
    opening an old ledger at once cannot both migrate it.
    """
    check_version(current, name=name)
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        for statement in migration.statements(dialect):
            tx.execute(statement)
        if migration.after is not None:
            migration.after(tx)
        if migration.version == 1:
            tx.execute(
                "INSERT INTO ledger_meta (id, schema_version, ledger_id, generation)"
                " VALUES (1, 1, ?, 0)",
                (uuid.uuid4().hex,),
            )
        else:
            tx.execute(
                "UPDATE ledger_meta SET schema_version = ? WHERE id = 1", (migration.version,)
            )
        current = migration.version
    return current
