"""retrieval.yml: the shipped settings load, and a broken file is refused with a clear message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge_base.config import CONFIG_PATH, load_config


def write_config(tmp_path: Path, **changes: object) -> Path:
    settings = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8")) | changes
    path = tmp_path / "retrieval.yml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def test_the_shipped_settings_load() -> None:
    config = load_config()
    assert config.ambiguous_min_dense <= config.confident_min_dense
    assert config.max_query_chars == 1000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dense_weight": 1.5}, "dense_weight must be a number between 0 and 1"),
        ({"dense_weight": "0.8"}, "dense_weight must be a number between 0 and 1"),
        ({"suggestions": 0}, "suggestions must be a positive whole number"),
        ({"hnsw_m": 2.5}, "hnsw_m must be a positive whole number"),
        ({"ambiguous_min_dense": 0.99}, "ambiguous_min_dense must not exceed confident_min_dense"),
        ({"dense_wieght": 0.8}, "unknown settings ['dense_wieght']"),
    ],
)
def test_broken_settings_are_refused(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_config(write_config(tmp_path, **changes))


def test_a_missing_setting_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("suggestions: 3\n", ""), encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing settings \['suggestions'\]"):
        load_config(path)
