"""The vote store on a real SQLite database, and the `feedback` command editors use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from bot.settings import PROJECT_ROOT
from knowledge_base.feedback import VOTES, FeedbackStore

KEY = b"test-key-0123456789abcdef0123456789"


def store_at(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'votes.db'}", KEY)


def test_votes_are_summed_per_article_least_helpful_first(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record("cards-003", True, "wx-openid-1", "wechat")
    store.record("cards-003", True, "web-2", "web")
    store.record("loans-010", False, "web-2", "web")
    store.record("loans-010", True, "web-3", "web")
    summary = store.summary()
    assert [(v.article_id, v.helpful, v.unhelpful) for v in summary] == [
        ("loans-010", 1, 1),
        ("cards-003", 2, 0),
    ]


def test_a_conversation_votes_once_per_article(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record("cards-003", True, "web-1", "web")
    store.record("cards-003", False, "web-1", "web")  # changed their mind
    assert [(v.helpful, v.unhelpful) for v in store.summary()] == [(0, 1)]


def test_conversation_ids_are_stored_only_as_keyed_hashes(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record("cards-003", True, "oWx-open-id-13800138000", "wechat")
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(VOTES)).one()
    assert "13800138000" not in str(tuple(row))
    assert row.conversation == store.conversation_hash("oWx-open-id-13800138000")
    assert (
        FeedbackStore(f"sqlite:///{tmp_path / 'other.db'}", b"another-key").conversation_hash(
            "oWx-open-id-13800138000"
        )
        != row.conversation
    )


def run_feedback_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "knowledge_base", "feedback", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_feedback_command_lists_votes(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.record("fees-009", False, "web-1", "web")
    result = run_feedback_cli("--db", f"sqlite:///{tmp_path / 'votes.db'}")
    assert result.returncode == 0, result.stderr
    assert "fees-009" in result.stdout and "not helpful     1" in result.stdout


def test_the_feedback_command_reports_an_unusable_database(tmp_path: Path) -> None:
    result = run_feedback_cli("--db", f"sqlite:///{tmp_path / 'missing-dir' / 'votes.db'}")
    assert result.returncode == 2
    assert "error" in result.stderr and "Traceback" not in result.stderr
