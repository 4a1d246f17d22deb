"""Retrieval settings from ``knowledge_base/retrieval.yml`` (thresholds, fusion weight, index type).

Kept in YAML so that recalibrating the thresholds is a data change, not a code change; the
calibration numbers live as comments next to the values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

CONFIG_PATH = Path(__file__).with_name("retrieval.yml")
FRACTIONS = ("dense_weight", "confident_min_dense", "confident_min_margin", "ambiguous_min_dense")
COUNTS = (
    "suggestions",
    "max_query_chars",
    "exact_max_entries",
    "hnsw_m",
    "hnsw_ef_construction",
    "hnsw_ef_search",
    "hnsw_candidates",
)


@dataclass(frozen=True)
class RetrievalConfig:
    """Every tunable of the retrieval package; ``retrieval.yml`` documents each one."""

    dense_weight: float
    confident_min_dense: float
    confident_min_margin: float
    ambiguous_min_dense: float
    suggestions: int
    max_query_chars: int
    exact_max_entries: int
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_search: int
    hnsw_candidates: int


def load_config(path: Path | str = CONFIG_PATH) -> RetrievalConfig:
    """Read and check the config; a missing, unknown or out-of-range key is an error, not a default."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a mapping of settings")
    names = [f.name for f in fields(RetrievalConfig)]
    missing = [n for n in names if n not in data]
    unknown = sorted(set(data) - set(names))
    if missing or unknown:
        raise ValueError(f"{path}: missing settings {missing}, unknown settings {unknown}")
    config = RetrievalConfig(**{n: data[n] for n in names})
    _check_ranges(config, path)
    return config


def _check_ranges(config: RetrievalConfig, path: Path | str) -> None:
    for name in FRACTIONS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{path}: {name} must be a number between 0 and 1, got {value!r}")
    for name in COUNTS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{path}: {name} must be a positive whole number, got {value!r}")
    if config.ambiguous_min_dense > config.confident_min_dense:
        raise ValueError(f"{path}: ambiguous_min_dense must not exceed confident_min_dense")
