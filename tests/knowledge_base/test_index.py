"""Index files, manifest, and the checks that refuse stale, corrupt or mismatched indexes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.models import Dense

from knowledge_base.articles import content_hash, load_articles
from knowledge_base.config import load_config
from knowledge_base.index import (
    IncompatibleModelError,
    IndexLoadError,
    StaleIndexError,
    build_index,
    check_index,
    ensure_index,
    load_index,
    load_model,
    tokenize,
)
from knowledge_base.search import Retriever
from tests.knowledge_base.conftest import private_copy, write_small_articles


@pytest.fixture
def own_index(tmp_path: Path, small_index: Path, small_source: Path) -> tuple[Path, Path]:
    return private_copy(small_index, small_source, tmp_path)


def test_manifest_describes_the_build(
    small_index: Path, small_source: Path, embedding_model_dir: Path
) -> None:
    manifest = json.loads((small_index / "manifest.json").read_text())
    assert manifest["model"]["path"] == "models/embeddings/multilingual-e5-small"
    assert manifest["model"]["name"] == "intfloat/multilingual-e5-small"
    assert manifest["model"]["dimension"] == 384
    assert (manifest["article_count"], manifest["entry_count"]) == (4, 16)
    assert manifest["articles_hash"] == content_hash(load_articles(small_source))
    assert manifest["index_type"] == "flat_ip"
    assert manifest["prompt"] == "query"
    assert manifest["created_by"].startswith("knowledge_base.index/")
    assert sorted(p.name for p in small_index.iterdir()) == [
        "bm25_corpus.json",
        "dense.faiss",
        "manifest.json",
        "metadata.json",
    ]


def test_entries_map_back_to_articles(small_index: Path) -> None:
    index = load_index(small_index)
    assert [e.article_id for e in index.entries[:4]] == ["t-001"] * 4
    assert index.entries[0].is_standard and not index.entries[1].is_standard
    assert index.articles["t-002"].escalate is True
    assert index.dense.ntotal == len(index.tokens) == 16


def test_tokenize_uses_the_banking_dictionary_and_drops_punctuation() -> None:
    assert tokenize("信用卡提额要什么条件？！") == ["信用", "信用卡", "提额", "要", "什么", "条件"]
    assert "星海信用卡" in tokenize("星海信用卡 怎么激活")  # a word only the banking dictionary knows
    assert tokenize("👍 ，。！ ") == []
    assert tokenize("轉帳ＡＴＭ") == tokenize("转账atm")  # same normalisation as the NLU pipeline


def test_changed_articles_make_the_index_stale(own_index: tuple[Path, Path]) -> None:
    source, index = own_index
    load_index(index)  # fine before the change
    cards = source / "cards.yml"
    cards.write_text(cards.read_text().replace("卡片激活", "卡片管理"), encoding="utf-8")
    with pytest.raises(StaleIndexError, match="changed since the index was built"):
        load_index(index)


def test_an_explicit_source_is_checked_too(small_index: Path, tmp_path: Path) -> None:
    other = write_small_articles(tmp_path / "other")
    (other / "services.yml").unlink()
    with pytest.raises(StaleIndexError):
        load_index(small_index, source=other)


def test_missing_source_is_an_error_not_a_pass(own_index: tuple[Path, Path]) -> None:
    source, index = own_index
    shutil.rmtree(source)
    with pytest.raises(StaleIndexError, match="does not exist"):
        load_index(index)


def test_a_model_of_another_dimension_is_refused(small_index: Path, embedding_model_dir: Path) -> None:
    e5 = load_model(embedding_model_dir.resolve())
    smaller = SentenceTransformer(modules=[*e5, Dense(384, 128)], device="cpu")
    assert smaller.get_sentence_embedding_dimension() == 128
    with pytest.raises(IncompatibleModelError, match="384-dimensional vectors but the model produces 128"):
        load_index(small_index, model=smaller)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "dense.faiss").unlink(), "dense.faiss is missing"),
        (lambda d: (d / "metadata.json").write_text("{}"), "metadata.json is corrupt"),
        (lambda d: (d / "dense.faiss").write_bytes(b"not faiss"), "dense.faiss is corrupt"),
        (lambda d: (d / "manifest.json").write_text("{"), "manifest.json is corrupt"),
        (lambda d: (d / "manifest.json").write_text("{}"), "manifest.json is incomplete"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
    ],
)
def test_damaged_index_files_are_reported(own_index: tuple[Path, Path], damage, message: str) -> None:
    _, index = own_index
    damage(index)
    with pytest.raises(IndexLoadError, match=message):
        load_index(index)


def test_a_manifest_that_disagrees_with_the_faiss_file_is_refused(own_index: tuple[Path, Path]) -> None:
    _, index = own_index
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["model"]["dimension"] = 768
    (index / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="dimension 384, the manifest says 768"):
        load_index(index)


def test_missing_index_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="no index at"):
        load_index(tmp_path / "nothing")


def test_large_knowledge_bases_get_an_hnsw_index(small_source: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(load_config(), exact_max_entries=10, hnsw_candidates=8)
    out = build_index(small_source, tmp_path / "hnsw", config=config)
    assert json.loads((out / "manifest.json").read_text())["index_type"] == "hnsw_ip"
    results = Retriever.load(out, config=config).search("跨行转账要多久才到", top_k=2)
    assert results[0].id == "t-003"


def test_build_refuses_to_overwrite_a_foreign_directory(small_source: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build_index(small_source, target)
    assert (target / "notes.txt").read_text() == "keep me"


def test_rebuilding_replaces_an_existing_index(own_index: tuple[Path, Path]) -> None:
    source, index = own_index
    (source / "services.yml").unlink()
    build_index(source, index)
    assert load_index(index).manifest["article_count"] == 2
    assert not list(index.parent.glob(".index.partial-*"))


def test_ensure_index_keeps_a_current_index_and_rebuilds_a_stale_one(
    own_index: tuple[Path, Path], embedding_model_dir: Path
) -> None:
    source, index = own_index
    built_at = json.loads((index / "manifest.json").read_text())["created_at"]
    assert ensure_index(source, index, embedding_model_dir) is None
    assert json.loads((index / "manifest.json").read_text())["created_at"] == built_at
    cards = source / "cards.yml"
    cards.write_text(cards.read_text().replace("卡片激活", "卡片管理"), encoding="utf-8")
    assert "changed since the index was built" in ensure_index(source, index, embedding_model_dir)
    check_index(index, source, embedding_model_dir)  # current again
    assert "卡片管理" in Retriever.load(index, source).index.articles["t-001"].answer


def test_an_index_of_another_model_is_stale_for_the_configured_one(
    own_index: tuple[Path, Path], tmp_path: Path
) -> None:
    source, index = own_index
    with pytest.raises(StaleIndexError, match="configured model"):
        check_index(index, source, tmp_path / "bank-finetuned-bge")


def test_loading_refuses_an_index_of_another_configured_model(
    own_index: tuple[Path, Path], tmp_path: Path
) -> None:
    source, index = own_index
    with pytest.raises(StaleIndexError, match="configured model"):
        load_index(index, source, model_dir=tmp_path / "bank-finetuned-bge")
