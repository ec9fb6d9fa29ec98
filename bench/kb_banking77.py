"""make bench-kb: knowledge-base retrieval quality on BANKING77 and speed/memory at 100k chunks.

Quality follows the "FAQ retrieval" protocol of ../shared/datasets/README.md: one article per
category (title = category name with spaces, alternative questions = the first K rows of
train.csv for it, K = 10); every test.csv row is a query. The fusion weights are chosen on a
development split made of TRAIN rows only (rows K+1..K+8 of each category, which are not in
the knowledge base); test.csv is scored once, through `tandem kb evaluate`'s code path. The
question classifier is the product's (knowledge_base.question_classifier: C by
cross-validation over the knowledge base's own questions); its weight in the ranking is
chosen on the same development split, and the fused ranking alone is reported beside it.

Scale: 100,000 chunks. SCALE_ENCODED real sentences (BANKING77 training texts, each with a
suffix so they differ) are encoded to measure indexing speed; the rest of the 100k vectors are
noisy copies of those (renormalised), so the approximate index sees a realistic distribution
without encoding 100k sentences on a shared 2-core machine. Query latency includes encoding
and the BM25 half of the search. Writes bench/results/kb_banking77.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "banking77"
RESULT = REPO / "bench" / "results" / "kb_banking77.json"
DEV_ROWS = 8
SCALE_CHUNKS = 100_000
SCALE_ENCODED = 5_000
SCALE_QUERIES = 300
CLASSIFIER_FIELDS = ("articles", "questions", "c", "cv_accuracy", "cv_folds", "cv_by_c",
                     "train_seconds")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATASET / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_inputs(directory: Path, k: int) -> tuple[Path, Path, Path]:
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in _rows("train.csv"):
        by_category[row["category"]].append(row["text"])
    articles = directory / "articles.jsonl"
    with articles.open("w", encoding="utf-8") as handle:
        for category in sorted(by_category):
            handle.write(json.dumps({
                "id": category, "title": category.replace("_", " "), "body": "",
                "alternative_questions": by_category[category][:k]}) + "\n")

    def write_queries(path: Path, pairs: list[tuple[str, str]]) -> None:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "article_id"])
            writer.writerows(pairs)

    dev = directory / "dev.csv"
    write_queries(dev, [(text, category) for category in sorted(by_category)
                        for text in by_category[category][k:k + DEV_ROWS]])
    test = directory / "test.csv"
    write_queries(test, [(row["text"], row["category"]) for row in _rows("test.csv")])
    return articles, dev, test


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _loaded_rss_mb(directory: Path) -> float:
    """What holding the index costs a reader (the api process): RSS growth of a fresh
    process while it loads the saved index and builds its BM25 side."""
    code = (
        "import sys, json; from pathlib import Path\n"
        "from bench.kb_banking77 import _rss_mb\n"
        "from knowledge_base.index import VectorIndex\n"
        "from knowledge_base.lexical import LexicalIndex\n"
        "before = _rss_mb()\n"
        "index = VectorIndex.load(Path(sys.argv[1]))\n"
        "lexical = LexicalIndex(list(index.entries), [e.text for e in index.entries.values()])\n"
        "print(json.dumps(_rss_mb() - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(directory)], check=True,
                         capture_output=True, text=True, cwd=REPO)
    return float(out.stdout.strip().splitlines()[-1])


def scale(query_threads: int, seed: int = 7) -> dict[str, Any]:
    import torch

    from core.settings import get_settings
    from knowledge_base.index import FORMAT_VERSION, Manifest, VectorIndex
    from knowledge_base.lexical import LexicalIndex
    from knowledge_base.retrieval import search_index
    from nlu.encoders import get_encoder

    settings = get_settings()
    encoder = get_encoder()
    rng = np.random.default_rng(seed)
    texts = [row["text"] for row in _rows("train.csv")]
    base = [f"{texts[i % len(texts)]} (note {i})" for i in range(SCALE_ENCODED)]

    encoder.encode_one("warm up")
    torch.set_num_threads(os.cpu_count() or 1)  # batch encoding does use both cores
    started = time.perf_counter()
    real = encoder.encode(base)
    probe = VectorIndex.build(real, [_entry(i, t) for i, t in enumerate(base)],
                              Manifest(FORMAT_VERSION, encoder.name, encoder.dimension, 0,
                                       "bench", ""))
    chunks_per_s = SCALE_ENCODED / (time.perf_counter() - started)
    torch.set_num_threads(query_threads)
    del probe

    copies = rng.integers(0, SCALE_ENCODED, SCALE_CHUNKS - SCALE_ENCODED)
    noisy = real[copies] + rng.normal(0, 0.04, (len(copies), real.shape[1])).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    vectors = np.vstack([real, noisy]).astype(np.float32)
    all_texts = base + [f"{base[c]} variant {j}" for j, c in enumerate(copies)]
    entries = [_entry(i, t) for i, t in enumerate(all_texts)]
    del noisy
    index = VectorIndex.build(vectors, entries,
                              Manifest(FORMAT_VERSION, encoder.name, encoder.dimension, 0,
                                       "bench", ""),
                              approximate_above=settings.kb_approximate_above_chunks,
                              nprobe=settings.kb_ivf_nprobe)
    lexical = LexicalIndex(list(index.entries), [e.text for e in index.entries.values()])
    with tempfile.TemporaryDirectory(prefix="kb-bench-100k-") as tmp:
        index.save(Path(tmp))
        index_rss = _loaded_rss_mb(Path(tmp))

    queries = [texts[i] for i in rng.choice(len(texts), SCALE_QUERIES, replace=False)]
    latencies = []
    for query in queries:
        t0 = time.perf_counter()
        search_index(index, lexical, query, k=10)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "p95_ms_100k_chunks": round(float(np.percentile(latencies, 95)), 2),
        "p50_ms_100k_chunks": round(float(np.percentile(latencies, 50)), 2),
        "index_chunks_per_s": round(chunks_per_s, 1),
        "index_rss_mb_100k": round(index_rss, 1),
        "index_kind_100k": index.manifest.kind,
        "scale_chunks": index.size,
    }


def _entry(i: int, text: str) -> Any:
    from knowledge_base.index import IndexEntry

    return IndexEntry(article_id=i // 10 + 1, slug=f"a{i // 10}", title=text[:60],
                      category="bench", locale="en", kind="question", text=text,
                      display=text, id=i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=10, help="questions per article")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    # One query is one short sentence: on a shared 2-core machine intra-op threads only
    # contend (measured here: ~15x slower under load with the default thread count).
    torch.set_num_threads(args.threads)
    from knowledge_base.evaluation import evaluate, report_dict

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        articles, dev, test = write_inputs(Path(tmp), args.k)
        quality = report_dict(evaluate(articles, test, tune_path=dev))
    result: dict[str, Any] = {
        "dataset": "banking77", "protocol": "../shared/datasets/README.md FAQ retrieval",
        "k": args.k, "recall_at_1": quality["recall_at_1"],
        "recall_at_3": quality["recall_at_3"], "mrr_at_10": quality["mrr_at_10"],
        "p50_ms": quality["p50_ms"], "p95_ms": quality["p95_ms"],
        "weights_chosen_on_train_split": quality["weights"],
        "without_classifier": quality["without_classifier"],
        "classifier": {key: value for key, value in (quality["classifier"] or {}).items()
                       if key in CLASSIFIER_FIELDS},
        "articles": quality["articles"], "chunks": quality["chunks"],
        "queries": quality["queries"],
    }
    print(json.dumps(result, indent=2), flush=True)
    if not args.skip_scale:
        result.update(scale(args.threads))
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["cpu_count"] = os.cpu_count()
    result["torch_threads"] = args.threads
    result["load_average_at_end"] = os.getloadavg()[0]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
