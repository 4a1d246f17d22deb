from pathlib import Path

import pytest

from bot.files import staged_directory


def test_the_new_directory_replaces_the_old_one_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "index"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_directory(out) as staging:
        (staging / "new.txt").write_text("new")
        assert (out / "old.txt").exists()  # readers still see the old one while writing
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_a_failed_write_keeps_the_old_directory_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "index"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staged_directory(out) as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
