"""Cost of `embed` on all-MiniLM-L6-v2, as a ratio to a named baseline in the same run: the same jitted encoder
with every batch padded to `max_length` (no length ladder); and, when the `[reference]` extra is installed,
Hugging Face transformers on PyTorch (padding to the longest text of each batch, as sentence-transformers does).

    nice -n 10 python benchmarks/embed_speed.py [--texts 512] [--domain vader-movies] [--all]

Needs `rmt-alpha fetch minilm reviews-text`. Each method embeds the first `--texts` texts of the domain, after one
warm-up run on the same texts (compilation excluded); the median of 3 rounds is reported, in texts per second.
`--all` also times one pass over every review-text domain (what an experiment pays once; later runs read the
embedding cache) and prints per-domain counts and seconds.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _timing import median_seconds

from rmt_alpha.data import load_review_text, minilm_directory
from rmt_alpha.nn import embed, load_pretrained
from rmt_alpha.nn._embed import _embed_jit
from rmt_alpha.nn._pretrained import tokenize


def _padded_to_max(model, texts, batch_size, max_length):
    """The baseline: the same jitted forward, every batch padded to max_length (one shape, no sorting)."""
    ids = tokenize(model, texts, max_length=max_length, width=max_length)
    out = []
    for start in range(0, len(texts), batch_size):
        batch = np.full((batch_size, max_length), model.config.pad_token_id, np.int32)
        rows = ids[start: start + batch_size]
        batch[: len(rows)] = rows
        out.append(np.asarray(_embed_jit(model.params, batch, model.config, "mean", False))[: len(rows)])
    return np.concatenate(out)


def _transformers(folder, texts, batch_size, max_length):
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder).eval()

    def run():
        out = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start: start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt", split_special_tokens=True)
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * weights).sum(1) / weights.sum(1)).numpy())
        return np.concatenate(out)

    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512, help="texts timed per method (default 512)")
    parser.add_argument("--domain", default="vader-movies", help="review-text domain (default vader-movies)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--all", action="store_true", help="also embed every domain once and report the cost")
    args = parser.parse_args(argv)
    folder = minilm_directory()
    model = load_pretrained(folder, num_classes=2)
    texts = load_review_text([args.domain])[args.domain].texts[: args.texts]
    methods = {
        "embed (length ladder)": lambda: embed(model, texts, batch_size=args.batch_size,
                                               max_length=args.max_length, cache=False),
        "baseline: padded to max_length": lambda: _padded_to_max(model, texts, args.batch_size, args.max_length),
    }
    try:
        methods["transformers (torch CPU)"] = _transformers(str(folder), texts, args.batch_size, args.max_length)
    except ImportError:
        pass
    seconds = {}
    for name, run in methods.items():
        run()                                                   # compile / warm up
        seconds[name] = median_seconds(run, 3)
    baseline = seconds["baseline: padded to max_length"]
    report = {"texts": len(texts), "domain": args.domain,
              "texts_per_second": {k: round(len(texts) / v, 1) for k, v in seconds.items()},
              "speed_vs_baseline": {k: round(baseline / v, 2) for k, v in seconds.items()}}
    if args.all:
        every = load_review_text()
        started, per_domain = time.perf_counter(), {}
        for name, domain in every.items():
            begin = time.perf_counter()
            embed(model, domain.texts, batch_size=args.batch_size, max_length=args.max_length, cache=False)
            per_domain[name] = {"texts": len(domain.texts), "seconds": round(time.perf_counter() - begin, 1)}
        total = time.perf_counter() - started
        report["all_domains"] = {"per_domain": per_domain, "seconds": round(total, 1),
                                 "texts_per_second": round(sum(d["texts"] for d in per_domain.values()) / total, 1)}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
