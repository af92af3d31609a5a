"""Where `zhike serve` keeps interviews: one SQLite file under --data, one row per interview.

A row holds the interview as a saved session (the same document `zhike ask --save`
writes, as JSON: answers, skips, the record, the estimates shown, goals, language,
rulebase name/version/sha256), the rulebase sha256 on its own (to see a changed
rulebase without reading the document), the question to ask again after `back`,
and the times it was created and last changed.

Every change is one transaction (WAL journal, synchronous=FULL): a server killed
with SIGKILL loses at most the answer being submitted. Each thread has its own
connection (sqlite3 connections are not shared between threads).

Interview ids are `secrets.token_urlsafe(24)`: 192 random bits, so an id cannot be
guessed, and an id is the only key to its row.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ID_BYTES = 24  # 192 bits (the issue asks for at least 128)
_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS interviews (
    id TEXT PRIMARY KEY,
    session TEXT NOT NULL,
    rulebase_sha256 TEXT NOT NULL,
    pending TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def valid_id(text: str) -> bool:
    """Whether `text` has the shape of an interview id (anything else is never looked up)."""
    return bool(_ID.match(text or ""))


@dataclass
class Row:
    id: str
    session: dict[str, Any]  # the saved-session document (engine.interview.session.dumps)
    rulebase_sha256: str
    pending: str | None  # the question shown and not answered yet (or taken back with `back`)
    version: int  # bumped by every save: a copy kept in memory is current only with the same version
    created: float
    updated: float


class Store:
    """The interviews of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "interviews.sqlite3"
        self._local = threading.local()
        db = self._db()
        db.execute(_SCHEMA)
        columns = {r[1] for r in db.execute("PRAGMA table_info(interviews)")}
        if "version" not in columns:  # a data folder from before rows had versions
            db.execute("ALTER TABLE interviews ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
        if "lookahead" not in columns:  # likewise, from before the look-ahead's memo was kept
            db.execute("ALTER TABLE interviews ADD COLUMN lookahead BLOB")

    def close(self) -> None:
        """Close this thread's connection (before forking worker processes: a connection is never shared)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def create(self, session: dict[str, Any], rulebase_sha256: str) -> str:
        interview_id = new_id()
        now = time.time()
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO interviews (id, session, rulebase_sha256, pending, created, updated) "
                       "VALUES (?, ?, ?, NULL, ?, ?)",
                       (interview_id, json.dumps(session, ensure_ascii=False), rulebase_sha256, now, now))
        return interview_id

    def get(self, interview_id: str) -> Row | None:
        if not valid_id(interview_id):
            return None
        cur = self._db().execute("SELECT id, session, rulebase_sha256, pending, version, created, updated "
                                 "FROM interviews WHERE id = ?", (interview_id,))
        found = cur.fetchone()
        if found is None:
            return None
        return Row(found[0], json.loads(found[1]), *found[2:])

    def version(self, interview_id: str) -> int | None:
        """The row's version, without reading the session (None: no such interview)."""
        if not valid_id(interview_id):
            return None
        found = self._db().execute("SELECT version FROM interviews WHERE id = ?", (interview_id,)).fetchone()
        return None if found is None else found[0]

    def lookahead(self, interview_id: str) -> bytes | None:
        """The questionnaire's look-ahead memo saved with the interview (a cache; None: none kept)."""
        if not valid_id(interview_id):
            return None
        found = self._db().execute("SELECT lookahead FROM interviews WHERE id = ?", (interview_id,)).fetchone()
        return None if found is None else found[0]

    def save(self, interview_id: str, session: dict[str, Any], rulebase_sha256: str, pending: str | None,
             lookahead: bytes | None = None) -> int:
        """Replace the interview's state, in one transaction; returns its new version."""
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE interviews SET session = ?, rulebase_sha256 = ?, pending = ?, updated = ?, "
                       "lookahead = ?, version = version + 1 WHERE id = ?",
                       (json.dumps(session, ensure_ascii=False), rulebase_sha256, pending, time.time(), lookahead,
                        interview_id))
            found = db.execute("SELECT version FROM interviews WHERE id = ?", (interview_id,)).fetchone()
        return found[0] if found else 0

    def count(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM interviews").fetchone()[0]
