"""Cost of one fine-tuning step inside all-MiniLM-L6-v2 per method, as a ratio to LoRA's step at the full padded width
(the named baseline), and what cutting each batch to its own padded width saves. Same script, same batch.

    python benchmarks/minilm_step_speed.py [--repeats 5] [--batch 10] [--width 64] [--json]

Needs `rmt-alpha fetch minilm reviews-text`. One batch of `--batch` UCI Yelp sentences (median 14 tokens), encoded
at `--width` tokens; each method's jitted step (the text-transfer settings: adapters on query and value, rank 8) is
compiled, warmed up, then timed `--repeats` times at the full width and at the width `trim_padding` keeps. The
median is reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import json

import jax
import numpy as np
from _timing import median_seconds


def main(argv=None) -> dict:
    from rmt_alpha.data import find_item, load_review_text
    from rmt_alpha.experiments._text_domains import feature_model
    from rmt_alpha.experiments._text_finetune import FinetuneSettings
    from rmt_alpha.nn import load_pretrained
    from rmt_alpha.nn._finetune import init_state
    from rmt_alpha.nn._pretrained import tokenize
    from rmt_alpha.nn._step import make_trainer, trim_padding

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print the JSON report only")
    args = parser.parse_args(argv)
    model = feature_model(load_pretrained(find_item("minilm"), num_classes=2))
    texts = load_review_text(["uci-yelp"])["uci-yelp"].texts[: args.batch]
    X = tokenize(model, texts, max_length=args.width, width=args.width)
    y = np.zeros(args.batch, np.int32)
    settings = FinetuneSettings()
    seconds = {}
    for method in ("lora", "alpha_lora", "dora"):
        config = settings.method_config(method)
        trainer = make_trainer(model.config, config)
        state = init_state(jax.random.key(0), model.params, config)
        opt_state = trainer.main.init(state)
        for label, batch in (("full width", X), ("trimmed", trim_padding(X, model.config.pad_token_id))):
            def step(batch=batch):
                jax.block_until_ready(trainer.train_step(state, opt_state, batch, y)[2])

            step()                                     # compile and warm up
            seconds[f"{method}, {label} ({batch.shape[1]} tokens)"] = median_seconds(step, args.repeats)
    baseline = seconds[f"lora, full width ({args.width} tokens)"]
    report = {name: {"s_per_step": value, "ratio_to_lora_full_width": value / baseline}
              for name, value in seconds.items()}
    if args.json:
        print(json.dumps(report, indent=1))
        return report
    print(f"{'method':40s} {'s/step':>8s} {'vs LoRA full':>13s}")
    for name, row in report.items():
        print(f"{name:40s} {row['s_per_step']:8.3f} {row['ratio_to_lora_full_width']:13.2f}")
    return report


if __name__ == "__main__":
    main()
