"""`python -m bot.profile migrate|seed` as a developer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.profile", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_seed_fills_an_empty_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'profile.db'}"
    first = run_cli("seed", "--customers", "8", "--seed", "3", "--db", url)
    assert first.returncode == 0, first.stderr
    assert "8 customers" in first.stdout
    again = run_cli("seed", "--db", url)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert run_cli("migrate", "--db", url).returncode == 0


def test_problems_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the folder should be")
    unreachable = run_cli("migrate", "--db", f"sqlite:///{tmp_path / 'blocker' / 'profile.db'}")
    too_small = run_cli("seed", "--customers", "2", "--db", f"sqlite:///{tmp_path / 'profile.db'}")
    for result in (unreachable, too_small):
        assert result.returncode == 2
        assert "error" in result.stderr and "Traceback" not in result.stderr
