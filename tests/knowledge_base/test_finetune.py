"""Fine-tuning on question pairs: input checks and a real (tiny) training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from knowledge_base.e5_convert import DEFAULT_OUTPUT_DIR, convert
from knowledge_base.finetune import PairFileError, finetune, main, read_pairs, sample

PAIRS = [
    ("信用卡怎么提额", "信用卡额度能调高吗", 1),
    ("微粒贷怎么还款", "借的钱怎么还", 1),
    ("忘记登录密码", "登录密码想不起来了", 1),
    ("转账多久到账", "跨行汇款几点能到", 1),
    ("信用卡怎么提额", "附近有网点吗", 0),
    ("微粒贷怎么还款", "美元汇率多少", 0),
    ("忘记登录密码", "基金怎么赎回", 0),
    ("转账多久到账", "怎么注销信用卡", 0),
]


def write_tsv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "line",
    ["只有一列", "a\tb", "a\tb\t2", "\t问题\t1", "a\tb\t1\textra"],
)
def test_malformed_pair_lines_name_the_line(tmp_path: Path, line: str) -> None:
    path = write_tsv(tmp_path / "pairs.tsv", ["问1\t问2\t1", line])
    with pytest.raises(PairFileError, match=r"pairs.tsv:2"):
        list(read_pairs(path))


def test_missing_file_and_cli_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--pairs", str(tmp_path / "nope.tsv"), "--out", str(tmp_path / "m")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_sample_is_reproducible() -> None:
    pairs = list(range(100))
    assert sample(pairs, 10, seed=1) == sample(pairs, 10, seed=1)
    assert sorted(sample(pairs, 1000, seed=1)) == pairs


def test_tiny_finetune_writes_a_different_model_of_the_same_shape(tmp_path: Path) -> None:
    base = convert(out=DEFAULT_OUTPUT_DIR)
    path = write_tsv(tmp_path / "pairs.tsv", [f"{a}\t{b}\t{label}" for a, b, label in PAIRS])
    out = finetune(list(read_pairs(path)), base, tmp_path / "tuned", epochs=1, batch_size=4)
    texts = ["query: 信用卡怎么提额", "query: 附近有网点吗"]
    before = SentenceTransformer(str(base), device="cpu").encode(texts)
    after = SentenceTransformer(str(out), device="cpu").encode(texts)
    assert after.shape == before.shape
    assert not np.allclose(after, before, atol=1e-4)
    assert (out / "finetune.json").exists()
