"""Shared fixtures: the trained Rasa model (cached by content hash, bot.training) and the knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, load_settings
from bot.training import ensure_model
from knowledge_base.index import ensure_index
from knowledge_base.search import Retriever


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current data/config, trained once if the inputs changed."""
    return ensure_model()


@pytest.fixture(scope="session")
def kb_retriever() -> Retriever:
    """The shipped knowledge base, indexed into models/kb as `make run` does (rebuilt only if stale)."""
    settings = load_settings()
    ensure_index(settings.kb_articles_dir, settings.kb_index_dir, settings.kb_model_dir)
    return Retriever.load(settings.kb_index_dir, settings.kb_articles_dir)
