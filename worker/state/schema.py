"""The schema of ``state.db``: the migrations, applied in order, and what is kept per property.

The schema version is the number of migrations applied (``schema_version``); the list is append
only, each migration runs in one transaction with its version row, and a database of a newer
version is refused. Every statement of the store names its columns, so a migration may add
columns to any table (``tests/test_state_schema.py`` proves it on every table).
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from worker.errors import ConfigError

__all__ = ["MIGRATIONS", "PER_PROPERTY_TABLES", "migrate"]

# Append only: the schema version is the number of migrations applied.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE properties (
        remote_uid TEXT PRIMARY KEY,
        property_uid INTEGER UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('intent', 'created', 'published')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE rooms (
        property_uid INTEGER NOT NULL,
        remote_id TEXT NOT NULL,
        room_uid INTEGER NOT NULL,
        PRIMARY KEY (property_uid, remote_id)
    );
    CREATE TABLE pushed_cells (
        property_uid INTEGER NOT NULL,
        night TEXT NOT NULL,
        price TEXT NOT NULL,
        minstay INTEGER NOT NULL,
        PRIMARY KEY (property_uid, night)
    ) WITHOUT ROWID;
    CREATE TABLE closures (
        property_uid INTEGER NOT NULL,
        closure_id TEXT NOT NULL,
        contract_id INTEGER,
        date_from TEXT NOT NULL,
        date_to TEXT NOT NULL,
        room_uids TEXT NOT NULL,
        PRIMARY KEY (property_uid, closure_id)
    );
    CREATE TABLE reservations (
        remote_id TEXT PRIMARY KEY,
        property_uid INTEGER NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('intent', 'pushed', 'cancel_intent', 'cancelled', 'failed')),
        booking_ids TEXT NOT NULL,
        message TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX reservations_by_status ON reservations (status);
    CREATE TABLE bookings_cursor (property_uid INTEGER PRIMARY KEY, last_modified TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the numeric remote id a reservation is pushed under (NULL: pushed under its OTA id by
    # an earlier version), and a digest of what was last sent for each room.
    """
    ALTER TABLE reservations ADD COLUMN site_id TEXT;
    ALTER TABLE rooms ADD COLUMN sent TEXT;
    """,
    # 3: what was last sent of each content part of a property (and what became of it), the
    # images it sent, and its last review: one JSON value per (property, part).
    """
    CREATE TABLE content (
        property_uid INTEGER NOT NULL,
        part TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (property_uid, part)
    );
    """,
    # 4: the last revision handled per site booking (``BookingRevision``), replacing the
    # ``booking.revision:<id>`` meta keys (carried over, property unknown until the next pull)
    # and the per-property cursor, which skipped a booking stamped before it.
    """
    CREATE TABLE booking_revisions (
        booking_id INTEGER PRIMARY KEY,
        property_uid INTEGER,
        delivered TEXT,
        parked TEXT,
        reason TEXT
    );
    CREATE INDEX booking_revisions_by_property ON booking_revisions (property_uid);
    INSERT OR IGNORE INTO booking_revisions (booking_id, property_uid, delivered)
        SELECT CAST(substr(key, 18) AS INTEGER), NULL, value FROM meta
        WHERE key LIKE 'booking.revision:%';
    DELETE FROM meta WHERE key LIKE 'booking.revision:%';
    DELETE FROM bookings_cursor;
    """,
    # 5: per property and job, when its work last succeeded and its last error (``status``).
    """
    CREATE TABLE job_outcomes (
        property_uid INTEGER NOT NULL,
        job TEXT NOT NULL,
        ok_at TEXT,
        error TEXT,
        error_at TEXT,
        PRIMARY KEY (property_uid, job)
    );
    """,
    # 6: the webhook sink's outbox: each booking revision committed here in the transaction that
    # marks it handled, deleted once the vendor answered 2xx; 'dead' rows wait for a re-drive.
    # Times are UNIX seconds on the sink's wall clock; ``since`` (queued or re-driven) ages it.
    """
    CREATE TABLE webhook_outbox (
        id INTEGER PRIMARY KEY,
        revision TEXT NOT NULL UNIQUE,
        property_uid INTEGER,
        body BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
        queued_at REAL NOT NULL,
        since REAL NOT NULL,
        next_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        dead_at REAL
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_at);
    """,
    # 7: typed per-property state (``property_state``) and the per-reservation push record and
    # refused content (``reservations.push_record``, ``rejected_digest``) instead of job-chosen
    # ``meta`` keys, carried over; ``meta`` (nothing else was kept in it) and the
    # ``bookings_cursor`` emptied by 4 are dropped.
    """
    CREATE TABLE property_state (
        property_uid INTEGER PRIMARY KEY,
        ari_reconciled_on TEXT,
        base_price_known INTEGER NOT NULL DEFAULT 0 CHECK (base_price_known IN (0, 1)),
        rooms_synced_on TEXT,
        rooms_fingerprint TEXT,
        bookings_event INTEGER,
        bookings_read_on TEXT
    );
    INSERT OR IGNORE INTO property_state (property_uid)
        SELECT DISTINCT CAST(substr(key, instr(key, ':') + 1) AS INTEGER) FROM meta
        WHERE key GLOB 'ari.reconciled:*' OR key GLOB 'base_price:*'
            OR key GLOB 'rooms.synced:*' OR key GLOB 'bookings.event:*'
            OR key GLOB 'bookings.read:*';
    UPDATE property_state SET
        ari_reconciled_on = (
            SELECT value FROM meta WHERE key = 'ari.reconciled:' || property_uid),
        base_price_known = EXISTS (
            SELECT 1 FROM meta WHERE key = 'base_price:' || property_uid AND value != ''),
        rooms_synced_on = (
            SELECT substr(value, 1, instr(value, ' ') - 1) FROM meta
            WHERE key = 'rooms.synced:' || property_uid AND instr(value, ' ') > 0),
        rooms_fingerprint = (
            SELECT substr(value, instr(value, ' ') + 1) FROM meta
            WHERE key = 'rooms.synced:' || property_uid AND instr(value, ' ') > 0),
        bookings_event = (
            SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'bookings.event:' || property_uid),
        bookings_read_on = (
            SELECT value FROM meta WHERE key = 'bookings.read:' || property_uid);
    ALTER TABLE reservations ADD COLUMN push_record TEXT;
    ALTER TABLE reservations ADD COLUMN rejected_digest TEXT;
    UPDATE reservations SET
        push_record = (SELECT value FROM meta WHERE key = 'reservation.pushed:' || remote_id),
        rejected_digest = (
            SELECT value FROM meta WHERE key = 'reservation.rejected:' || remote_id);
    DROP TABLE meta;
    DROP TABLE bookings_cursor;
    """,
    # 8: the newest change-log event of the site's own edits acted on (``worker.sync.drift``).
    "ALTER TABLE property_state ADD COLUMN drift_event INTEGER;",
)

# The tables holding rows of one property by its ``property_uid``: ``forget_property`` clears
# them all (with its ``properties`` row, keyed by ``remote_uid``). ``webhook_outbox`` is left
# out on purpose: it holds deliveries owed to the vendor, which drain on their own.
PER_PROPERTY_TABLES = (
    "rooms",
    "pushed_cells",
    "closures",
    "reservations",
    "content",
    "job_outcomes",
    "booking_revisions",
    "property_state",
)


async def migrate(conn: aiosqlite.Connection, db_path: Path) -> None:
    """Bring the database to the latest version; a newer one is a ``ConfigError``."""
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    sql = "SELECT COALESCE(MAX(version), 0) AS version FROM schema_version"
    async with conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    current = int(row["version"]) if row else 0
    if current > len(MIGRATIONS):
        raise ConfigError(
            f"state database {db_path} has schema version {current}, newer than this worker "
            f"understands ({len(MIGRATIONS)}); upgrade the worker or use another state dir"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[version - 1]
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{script}\n"
            f"INSERT INTO schema_version (version) VALUES ({version});\nCOMMIT;"
        )
