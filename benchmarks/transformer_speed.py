"""Cost of one fine-tuning step per method, as a ratio to LoRA's step (the named baseline), same script, same data.

    /work/venv/bin/python benchmarks/transformer_speed.py [--repeats 200]

Each method's jitted `train_step` is compiled, warmed up, then timed over `repeats` steps on one batch of 32
reviews with the experiment's default model (d_model 64, 2 blocks, 4 heads, 32 tokens). alpha_lora's own alpha
step (run once every T = 10 steps in Algorithm 1) is timed separately and amortised: `train + alpha / T`.
The median of 5 rounds is reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from rmt_alpha.data._synthetic_reviews import make_reviews
from rmt_alpha.experiments._transformer import TransformerExperimentConfig
from rmt_alpha.nn._finetune import init_state
from rmt_alpha.nn._methods import TRAINING_METHODS
from rmt_alpha.nn._models import init_params
from rmt_alpha.nn._step import make_trainer


def _seconds_per_step(step, state, opt_state, X, y, repeats):
    state, opt_state, loss = step(state, opt_state, X, y)      # compile and warm up
    loss.block_until_ready()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeats):
            state, opt_state, loss = step(state, opt_state, X, y)
        loss.block_until_ready()
        rounds.append((time.perf_counter() - started) / repeats)
    return float(np.median(rounds))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    config = TransformerExperimentConfig()
    params = init_params(jax.random.key(0), config.model)
    X, y = make_reviews(32, config.task, "target", random_state=0)
    seconds = {}
    for method in TRAINING_METHODS:
        method_config = config.method_config(method, 1.0)
        trainer = make_trainer(config.model, method_config)
        state = init_state(jax.random.key(1), params, method_config)
        seconds[method] = _seconds_per_step(trainer.train_step, state, trainer.main.init(state), X, y, args.repeats)
        if method == "alpha_lora":
            alpha = _seconds_per_step(trainer.alpha_step, state, trainer.alpha.init(state), X, y, args.repeats)
            seconds["alpha_lora (alpha step alone)"] = alpha
            seconds["alpha_lora (amortised, T = 10)"] = seconds[method] + alpha / method_config.alpha_every
    baseline = seconds["lora"]
    report = {name: {"ms_per_step": 1e3 * value, "ratio_to_lora": value / baseline} for name, value in seconds.items()}
    print(f"{'method':34s} {'ms/step':>8s} {'vs LoRA':>8s}")
    for name, row in report.items():
        print(f"{name:34s} {row['ms_per_step']:8.2f} {row['ratio_to_lora']:8.2f}")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
