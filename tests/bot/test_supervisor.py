import pytest

from bot.settings import load_settings
from bot.supervisor import COMPUTE_THREAD_VARIABLES, service_env


def test_every_service_gets_one_math_thread_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in COMPUTE_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    env = service_env(load_settings())
    assert {variable: env[variable] for variable in COMPUTE_THREAD_VARIABLES} == {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TF_INTRA_OP_PARALLELISM_THREADS": "1",
        "TF_INTER_OP_PARALLELISM_THREADS": "1",
    }


def test_an_operators_thread_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert service_env(load_settings())["OMP_NUM_THREADS"] == "4"


def test_the_services_find_the_tracker_database_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("BANKBOT_DATA_DIR", str(tmp_path))
    assert service_env(load_settings())["TRACKER_DB"] == str(tmp_path / "tracker.db")
