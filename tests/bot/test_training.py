import shutil
from pathlib import Path

from bot.settings import PROJECT_ROOT
from bot.training import TRAINING_INPUTS, fingerprint


def copy_inputs(target: Path) -> None:
    for name in TRAINING_INPUTS:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_fingerprint_is_stable_and_tracks_content(tmp_path: Path) -> None:
    copy_inputs(tmp_path)
    first = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == first
    assert first == fingerprint(PROJECT_ROOT)

    rules = tmp_path / "data" / "rules" / "fallback.yml"
    rules.write_text(rules.read_text() + "\n# a comment still changes the training input\n")
    assert fingerprint(tmp_path) != first


def test_fingerprint_ignores_unrelated_files(tmp_path: Path) -> None:
    copy_inputs(tmp_path)
    before = fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("docs are not training input")
    assert fingerprint(tmp_path) == before
