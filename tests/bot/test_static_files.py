"""Only known file types from the named folders are served."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.static_files import static_file

FOLDER = Path(__file__).resolve().parents[2] / "bot" / "widget"


def served(path: Path) -> int:
    return asyncio.run(static_file(path, FOLDER)).status


def test_a_widget_file_is_served() -> None:
    assert served(FOLDER / "widget.js") == 200


@pytest.mark.parametrize(
    "path",
    [
        FOLDER / "missing.js",
        FOLDER / ".." / "gateway.py",  # climbs out
        FOLDER.parent / "static_files.py",  # another folder, unknown type
        FOLDER.parent / "handoff" / "static" / "agent.js",  # a known type, but not from this folder
    ],
)
def test_anything_else_is_not_found(path: Path) -> None:
    assert served(path) == 404
