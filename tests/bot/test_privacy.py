import os
import stat
from pathlib import Path

import pytest

from bot.privacy import pseudonym_key
from bot.settings import load_settings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("BANKBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BANKBOT_PSEUDONYM_KEY", raising=False)
    return load_settings()


def test_a_machine_key_is_generated_once_and_readable_by_the_owner_only(settings) -> None:
    first = pseudonym_key(settings)
    assert len(first) == 64
    assert pseudonym_key(settings) == first
    mode = stat.S_IMODE(os.stat(settings.pseudonym_key_file).st_mode)
    assert mode == 0o600
    assert [p.name for p in settings.data_dir.iterdir()] == ["pseudonym.key"]  # no drafts left behind


def test_the_configured_key_wins(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKBOT_PSEUDONYM_KEY", "configured-key-" + "x" * 20)
    assert pseudonym_key(settings) == ("configured-key-" + "x" * 20).encode()
    assert not settings.pseudonym_key_file.exists()


def test_an_emptied_key_file_is_a_clear_error(settings) -> None:
    settings.pseudonym_key_file.write_text("")
    with pytest.raises(SystemExit, match="does not hold a key"):
        pseudonym_key(settings)
