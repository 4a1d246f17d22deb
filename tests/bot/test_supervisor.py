import os
import sys

import pytest

from bot.settings import load_settings
from bot.supervisor import COMPUTE_THREAD_VARIABLES, Service, service_env, start_services


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


def test_an_empty_thread_setting_from_dotenv_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKL_NUM_THREADS", "")
    assert service_env(load_settings())["MKL_NUM_THREADS"] == "1"


def test_the_services_find_the_tracker_database_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("BANKBOT_DATA_DIR", str(tmp_path))
    assert service_env(load_settings())["TRACKER_DB"] == str(tmp_path / "tracker.db")


def test_the_rasa_server_loads_while_the_data_is_prepared(tmp_path) -> None:
    def sleeper(name: str, needs_prepared_data: bool) -> Service:
        command = [sys.executable, "-c", "import time; time.sleep(30)"]
        return Service(name, name, command, "http://127.0.0.1:9/", needs_prepared_data=needs_prepared_data)

    services = [sleeper("actions", True), sleeper("rasa", False), sleeper("gateway", True)]
    running_while_preparing: list[str] = []

    def prepare() -> None:
        running_while_preparing.extend(service.name for service in services if service.running())

    try:
        start_services(services, dict(os.environ), tmp_path, prepare)
        assert running_while_preparing == ["rasa"]
        assert all(service.running() for service in services)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["actions.pid", "gateway.pid", "rasa.pid"]
    finally:
        for service in services:
            service.stop()
