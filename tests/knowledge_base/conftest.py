"""Shared fixtures: the full index is built once per test run, through the CLI like a user would.

Everything is real: the converted e5 model, FAISS, BM25 and jieba. The small article set below is
written for these tests (four articles in two files) so that builds that only check plumbing
take a second instead of the half minute of embedding the full knowledge base.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.articles import load_articles
from knowledge_base.e5_convert import PROJECT_ROOT
from knowledge_base.index import DEFAULT_MODEL_DIR, ensure_model
from knowledge_base.search import Retriever

ARTICLES_DIR = PROJECT_ROOT / "knowledge_base" / "articles"
DATA_DIR = Path(__file__).parent / "data"

SMALL_ARTICLES = {
    "cards.yml": """\
articles:
  - id: t-001
    question: 信用卡怎么激活？
    similar_questions: [新卡到手怎么开卡, 信用卡寄到了怎么启用, 激活信用卡一定要去网点吗]
    answer: 您可在手机银行“信用卡—卡片激活”中激活。
    category: card_service
    tags: [信用卡, 激活]
    updated: 2026-01-05
  - id: t-002
    question: 银行卡丢了怎么挂失？
    similar_questions: [卡不见了怎么办, 钱包丢了要先冻结银行卡, 打电话可以挂失吗]
    answer: 请立即在手机银行或拨打客服热线办理挂失。
    category: report_lost_card
    tags: [挂失]
    updated: "2026-01-05"
    escalate: true
""",
    "services.yml": """\
articles:
  - id: t-003
    question: 跨行转账多久到账？
    similar_questions: [转到别的银行要多久, 他行转账什么时候能到, 跨行汇款晚上能到吗]
    answer: 实时到账一般几分钟内到账，普通到账约2小时。
    category: transfer_money
    tags: [转账]
    updated: 2026-01-05
  - id: t-004
    question: 网点营业时间是几点到几点？
    similar_questions: [银行几点开门, 周末网点上班吗, 柜台几点下班]
    answer: 多数网点工作日9:00–17:00营业，部分网点周末营业。
    category: branch
    tags: [网点, 营业时间]
    updated: 2026-01-05
    requires_auth: false
""",
}


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m knowledge_base ...`` in a fresh interpreter, as users and scripts call it."""
    return subprocess.run(
        [sys.executable, "-m", "knowledge_base", *map(str, args)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def private_copy(index: Path, source: Path, folder: Path) -> tuple[Path, Path]:
    """Copies of articles and index, the index pointing at the copied articles: safe to damage."""
    source = shutil.copytree(source, folder / "articles")
    index = shutil.copytree(index, folder / "index")
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["source"] = str(source)
    (index / "manifest.json").write_text(json.dumps(manifest))
    return source, index


def write_small_articles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SMALL_ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def embedding_model_dir() -> Path:
    return ensure_model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory, embedding_model_dir: Path) -> Path:
    """The whole knowledge base, built once by the CLI (this is also the full-set build test)."""
    out = tmp_path_factory.mktemp("full") / "index"
    result = run_cli("build", "--source", ARTICLES_DIR, "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"indexed {len(load_articles(ARTICLES_DIR))} articles" in result.stdout
    return out


@pytest.fixture(scope="session")
def full_retriever(full_index: Path) -> Retriever:
    return Retriever.load(full_index)


@pytest.fixture(scope="session")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_articles(tmp_path_factory.mktemp("small") / "articles")


@pytest.fixture(scope="session")
def small_index(
    tmp_path_factory: pytest.TempPathFactory, small_source: Path, embedding_model_dir: Path
) -> Path:
    out = tmp_path_factory.mktemp("small-index") / "index"
    result = run_cli("build", "--source", small_source, "--out", out)
    assert result.returncode == 0, result.stderr
    return out
