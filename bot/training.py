"""Train the Rasa model only when its inputs changed.

The model file is named after a hash of everything it is trained from (config, domain,
training data, our custom NLU components, the Rasa version), so an unchanged project
reuses its model in milliseconds instead of retraining for a minute.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.settings import PROJECT_ROOT

TRAINING_INPUTS = ("config.yml", "domain.yml", "domain", "data", "bot/nlu", "bot/text.py", "bot/sentiment.py")
KEEP_MODELS = 3


def shared_cache() -> Path:
    """Models are also kept outside the clone, so fresh clones (CI) with the same
    inputs reuse them instead of training again."""
    return Path(os.environ.get("BANKBOT_MODEL_CACHE") or Path.home() / ".cache" / "bankbot" / "models")


def _input_files(root: Path) -> Iterable[Path]:
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    """Content hash of every training input (paths and bytes) plus the Rasa version."""
    from rasa import __version__ as rasa_version

    digest = hashlib.sha256(rasa_version.encode())
    for path in _input_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path = PROJECT_ROOT) -> Path:
    return root / "models" / f"bankbot-{fingerprint(root)}.tar.gz"


def ensure_model(root: Path = PROJECT_ROOT) -> Path:
    """Return the trained model for the current inputs, training it first if needed."""
    target = model_path(root)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel callers wait instead of training twice
        if not target.exists():
            _train_or_reuse(root, target)
    _prune_old_models(target)
    return target


def _train_or_reuse(root: Path, target: Path) -> None:
    cached = shared_cache() / target.name
    if cached.exists():
        print(f"==> reusing the model trained earlier on the same inputs: {cached}")
        shutil.copy2(cached, target)
        return
    _train(root, target)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}.partial")
    shutil.copy2(target, partial)
    os.replace(partial, cached)  # other clones never see a half-written model
    _prune_old_models(cached)


def _train(root: Path, target: Path) -> None:
    print(f"==> training the Rasa model ({target.name}); inputs changed since the last model")
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name[: -len(".tar.gz")],
    ]
    subprocess.run(command, cwd=root, check=True)
    if not target.exists():
        raise RuntimeError(f"rasa train finished but {target} was not written")


def _prune_old_models(current: Path) -> None:
    models = sorted(current.parent.glob("bankbot-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-KEEP_MODELS]:
        if old != current:
            old.unlink(missing_ok=True)
