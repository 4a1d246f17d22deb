"""Shared fixtures. The trained model is cached by content hash (bot.training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.training import ensure_model


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current data/config, trained once if the inputs changed."""
    return ensure_model()
