"""What the actions say (``messages.yml``) and the business rules they enforce (``policy.yml``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


@cache
def _load(name: str) -> dict[str, Any]:
    with open(HERE / name, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{HERE / name}: expected a mapping at the top level")
    return data


def message(section: str, key: str, **values: Any) -> str:
    """A customer-facing text from messages.yml, with ``{placeholders}`` filled in."""
    return str(_load("messages.yml")[section][key]).format(**values)


def messages(section: str) -> dict[str, Any]:
    return _load("messages.yml")[section]


def policy(section: str, key: str) -> Any:
    return _load("policy.yml")[section][key]
