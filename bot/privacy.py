"""Personal data handling shared by every component.

Pseudonyms: identifiers of customers (conversation ids, WeChat open ids) that must be counted or
joined outside the profile database are stored as keyed hashes. The key comes from
``BANKBOT_PSEUDONYM_KEY`` or, on a machine without one, is generated once into the data directory
(readable by the owner only), so no secret ever lives in the repository.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import Settings

KEY_BYTES = 32


def pseudonym_key(settings: Settings) -> bytes:
    """The configured key, else the machine's own generated key."""
    configured = os.environ.get("BANKBOT_PSEUDONYM_KEY", "").strip()
    if configured:
        return configured.encode("utf-8")
    return _local_key(settings.pseudonym_key_file)


def _local_key(path: Path) -> bytes:
    """Created complete or not at all (written aside, then hard-linked): processes start together."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES))
        try:
            os.link(draft, path)
        except FileExistsError:  # another process was first: everyone uses its key
            pass
        finally:
            draft.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < KEY_BYTES:
        raise SystemExit(f"config error: {path} does not hold a key; delete it to generate a new one")
    return key.encode("ascii")
