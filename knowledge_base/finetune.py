"""Fine-tune the embedding model on labelled question pairs (``make finetune-embeddings``).

Input is a TSV of ``s1<TAB>s2<TAB>label`` (1 = same meaning, 0 = different), e.g. the BQ
corpus in ../shared/data/bq/. The model learns to put paraphrases of the same customer
question close together (cosine-similarity loss on both positive and negative pairs),
which is exactly what question-to-question retrieval needs. The result is a new
sentence-transformers directory; the base model is never modified.

Note: a model fine-tuned on BQ inherits BQ's research-only licence; it is an experiment,
not the product's default model.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

DEFAULT_BASE = PROJECT_ROOT / "models" / "embeddings" / "multilingual-e5-small"
DEFAULT_OUT = PROJECT_ROOT / "models" / "embeddings" / "multilingual-e5-small-finetuned"
PROMPT = "query: "  # questions are compared with questions: both sides use the query prompt
SEED = 13  # the pair sample and the training order are reproducible


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    label: float


class PairFileError(ValueError):
    """The pairs file cannot be used; the message says where and why."""


def read_pairs(path: Path) -> Iterator[Pair]:
    """Pairs from a TSV file; a malformed line is an error naming the line."""
    if not path.is_file():
        raise PairFileError(f"{path}: no such file")
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 3 or row[2].strip() not in {"0", "1"} or not row[0].strip() or not row[1].strip():
                raise PairFileError(f"{path}:{number}: expected 's1<TAB>s2<TAB>0|1', got {row!r:.80}")
            yield Pair(row[0].strip(), row[1].strip(), float(row[2]))


def sample(pairs: Sequence[Pair], limit: int, seed: int) -> list[Pair]:
    """A reproducible random subset (all pairs when ``limit`` covers them)."""
    chosen = list(pairs)
    random.Random(seed).shuffle(chosen)
    return chosen[:limit]


def finetune(
    pairs: Sequence[Pair],
    base: Path,
    out: Path,
    epochs: int = 1,
    batch_size: int = 32,
    seed: int = SEED,
    learning_rate: float = 2e-5,
) -> Path:
    """Train ``base`` on ``pairs`` with a cosine-similarity loss and save the result to ``out``.

    A plain torch loop: sentence-transformers' own ``fit`` needs the ``datasets`` package,
    which this project does not otherwise need.
    """
    import torch
    from sentence_transformers import SentenceTransformer, losses
    from tqdm import tqdm

    if not pairs:
        raise PairFileError("no training pairs")
    torch.manual_seed(seed)
    model = SentenceTransformer(str(base), device="cpu")
    loss_fn = losses.CosineSimilarityLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    batches = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
    model.train()
    for epoch in range(1, epochs + 1):
        random.Random(seed + epoch).shuffle(batches)
        for batch in tqdm(batches, desc=f"epoch {epoch}/{epochs}", unit="batch"):
            features = [
                model.tokenize([PROMPT + p.first for p in batch]),
                model.tokenize([PROMPT + p.second for p in batch]),
            ]
            loss = loss_fn(features, torch.tensor([p.label for p in batch]))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    manifest = {
        "base": str(base),
        "pairs": len(pairs),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "loss": "CosineSimilarityLoss",
        "prompt": PROMPT,
    }
    (out / "finetune.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base.finetune", description=__doc__)
    parser.add_argument("--pairs", type=Path, required=True, help="TSV s1<TAB>s2<TAB>label")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--max-pairs", type=int, default=20000, help="random subset size (CPU budget)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    try:
        if not (args.base / "modules.json").exists():
            raise PairFileError(f"{args.base}: not a sentence-transformers model directory")
        pairs = sample(list(read_pairs(args.pairs)), args.max_pairs, seed=SEED)
        print(f"==> fine-tuning {args.base.name} on {len(pairs)} pairs for {args.epochs} epoch(s)")
        out = finetune(pairs, args.base, args.out, args.epochs, args.batch_size)
    except PairFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"==> fine-tuned model: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
