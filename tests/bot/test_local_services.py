"""The scaled profile's local PostgreSQL: a data directory it cannot use is reported in its own words."""

from __future__ import annotations

import os

import pytest

from bot.local_services import Postgres
from tests.helpers import free_port
from tests.services import apt_install, scratch_directory


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as the postgres user only when we are root")
def test_a_data_directory_the_postgres_user_cannot_enter_is_a_clear_error() -> None:
    apt_install("postgresql")
    with scratch_directory("bankbot-private-") as directory:
        private = directory / "private"
        private.mkdir(mode=0o700)
        with pytest.raises(RuntimeError, match=r"PostgreSQL: initdb failed \(1\): .*[Pp]ermission denied"):
            Postgres(private / "postgres", free_port()).start()
