"""The wrapper that starts the Rasa server and the action server: their own logs come out masked."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT

CARD = "6222021234567890128"
ACTIONS_PACKAGE = f"missing_actions_{CARD}"  # the action server logs the name, with a traceback


def action_server_output(*command: str) -> str:
    """What the real action server prints when its actions package cannot be imported."""
    finished = subprocess.run(
        [sys.executable, "-m", *command, "rasa_sdk", "--actions", ACTIONS_PACKAGE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    return finished.stdout + finished.stderr


def test_the_action_server_logs_masked_through_its_own_logging_setup() -> None:
    assert CARD in action_server_output()  # what it prints on its own
    printed = action_server_output("bot.masked_logs")
    assert "Failed to register package 'missing_actions_****0128'" in printed
    assert "No module named 'missing_actions_****0128'" in printed  # the traceback too
    assert CARD not in printed


def test_without_a_module_it_says_how_to_call_it() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bot.masked_logs"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert finished.returncode == 1 and "usage: python -m bot.masked_logs MODULE" in finished.stderr
