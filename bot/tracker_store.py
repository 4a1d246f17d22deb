"""Rasa's SQL tracker store, patient with a database that is briefly away (scaled profile).

Rasa wraps tracker stores in a fail-safe that, on any error, treats a conversation as new and keeps
its events in memory only: during a PostgreSQL restart or fail-over a customer would silently lose
the conversation's context, and the turn would be missing from the record. This store instead retries
a failed database call for a few seconds (the message waits, it is not lost); a disconnect also
invalidates the pooled connections, so the retry runs on a fresh one. Only after that does Rasa's
fail-safe take over. Used from ``deploy/endpoints.scaled.yml`` as
``type: bot.tracker_store.PatientSQLTrackerStore``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError

from bot.patience import patiently

FAILURES = (DBAPIError,)


class PatientSQLTrackerStore(SQLTrackerStore):
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
