from pathlib import Path

import pytest

from bot.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_PORT", "RASA_PORT", "ACTION_PORT", "RASA_AUTH_TOKEN"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert (settings.gateway_port, settings.rasa_port, settings.action_port) == (8000, 5005, 5055)
    assert settings.rasa_host == "127.0.0.1"
    assert settings.rasa_auth_token is None


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GATEWAY_PORT", value)
    with pytest.raises(SystemExit, match="GATEWAY_PORT"):
        load_settings()


def test_the_profile_database_defaults_to_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BANKBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PROFILE_DB", raising=False)
    assert load_settings().profile_db == f"sqlite:///{tmp_path / 'profile.db'}"
    monkeypatch.setenv("PROFILE_DB", "postgresql://bank@db/profile")
    assert load_settings().profile_db == "postgresql://bank@db/profile"
