import asyncio
import sqlite3
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import PatientSQLTrackerStore


def test_a_sqlite_tracker_store_keeps_conversations_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store = PatientSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker.from_events("customer-1", [UserUttered("你好")])
    asyncio.run(store.save(tracker))

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again = PatientSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    restored = asyncio.run(again.retrieve("customer-1"))
    assert restored is not None and restored.latest_message.text == "你好"
