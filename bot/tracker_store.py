"""Rasa's SQL tracker store, patient with a database that is briefly away, and SQLite in WAL mode.

Rasa wraps tracker stores in a fail-safe that, on any error, treats a conversation as new and keeps
its events in memory only: during a PostgreSQL restart or fail-over a customer would silently lose
the conversation's context, and the turn would be missing from the record. This store instead retries
a failed database call for a few seconds (the message waits, it is not lost); a disconnect also
invalidates the pooled connections, so the retry runs on a fresh one. Only after that does Rasa's
fail-safe take over. On SQLite (the default profile) the file is used in write-ahead-log mode: a
commit is not a full disk sync, so saving a tracker no longer stalls Rasa's event loop under load.
Used from ``endpoints.yml`` and ``deploy/endpoints.scaled.yml`` as
``type: bot.tracker_store.PatientSQLTrackerStore``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError

from bot.patience import patiently
from bot.profile.db import use_sqlite_safely_from_several_processes

FAILURES = (DBAPIError,)


class PatientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # A tracker is a record of the conversation, not a ledger: after a power cut (not a crash)
            # its last turn may be lost, which is what "synchronous = NORMAL" trades for speed.
            use_sqlite_safely_from_several_processes(self.engine, "PRAGMA synchronous = NORMAL")

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        parent = super()
        return await patiently(lambda: parent.retrieve(sender_id), FAILURES, "tracker store: retrieve")

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        parent = super()
        return await patiently(
            lambda: parent.retrieve_full_tracker(sender_id), FAILURES, "tracker store: retrieve"
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        parent = super()
        await patiently(lambda: parent.save(tracker), FAILURES, "tracker store: save")

    async def keys(self) -> Iterable[str]:
        parent = super()
        return await patiently(parent.keys, FAILURES, "tracker store: keys")
