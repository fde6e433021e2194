"""Fine-tuning: Algorithm 1's alpha schedule and data, frozen weights, trainable counts, bad input, pre-training."""

import dataclasses

import jax
import numpy as np
import pytest

from rmt_alpha.data._synthetic_reviews import ReviewTask, make_reviews
from rmt_alpha.nn._adapters import AdapterConfig
from rmt_alpha.nn._finetune import finetune_network, init_state
from rmt_alpha.nn._methods import FinetuneConfig, trainable_count
from rmt_alpha.nn._models import TransformerConfig, init_params
from rmt_alpha.nn._selection import pretrain
from rmt_alpha.nn._step import make_trainer
from rmt_alpha.nn._trees import flatten_tree

TASK = ReviewTask(sharing=0.5)
MODEL = TransformerConfig(vocab_size=TASK.vocab_size, max_len=32, d_model=8, num_heads=2, d_mlp=16, num_layers=1)
X, Y = make_reviews(160, TASK, "target", random_state=0)
TRAIN, VAL, HELD = (X[:64], Y[:64]), (X[64:128], Y[64:128]), (X[128:], Y[128:])
PARAMS = init_params(jax.random.key(0), MODEL)
BASE = FinetuneConfig(adapter=AdapterConfig(rank=2), batch_size=16, max_epochs=2, patience=5, alpha_every=3,
                      alpha_batch_size=8, alpha_learning_rate=0.01)


def _alphas(state):
    return {p: np.asarray(v) for p, v in flatten_tree(state["adapters"]).items() if p.endswith("/alpha")}


def test_alpha_moves_only_every_T_steps_and_only_from_the_held_out_batch():
    records = []
    result = finetune_network(jax.random.key(1), PARAMS, MODEL, BASE, TRAIN, VAL, held_out=HELD,
                      callback=lambda event, step, state, batch: records.append((event, step, state, batch)))
    # 64 / 16 = 4 steps an epoch, 2 epochs: 8 adapter steps; alpha after steps 3 and 6 (T = 3).
    assert [r[1] for r in records if r[0] == "alpha"] == [3, 6] == result.alpha_steps_run
    assert [r[1] for r in records if r[0] == "train"] == list(range(1, 9)) and result.steps_run == 8
    # steps and alpha_steps describe the returned (best-epoch) state: the updates it has seen, not those run after.
    assert result.steps == 4 * result.best_epoch and result.alpha_steps == [s for s in (3, 6) if s <= result.steps]
    previous = _alphas(init_state(jax.random.key(0), PARAMS, BASE))
    for event, step, state, batch in records:
        current = _alphas(state)
        changed = any(not np.array_equal(current[p], previous[p]) for p in current)
        assert changed == (event == "alpha"), (event, step)       # adapter steps leave alpha bitwise alone
        previous = current
    train_rows, held_rows = {r.tobytes() for r in TRAIN[0]}, {r.tobytes() for r in HELD[0]}
    for event, _, _, (batch_X, _) in records:
        rows = {r.tobytes() for r in batch_X}
        assert rows <= (held_rows if event == "alpha" else train_rows) and not rows & (
            train_rows if event == "alpha" else held_rows)
    # The first alpha update is Adam's first step on the held-out batch's gradient at the state before it:
    # -lr * g / (|g| + eps) with Adam's default eps = 1e-8.
    before = next(r[2] for r in records if r[:2] == ("train", 3))
    after, (held_X, held_y) = next((r[2], r[3]) for r in records if r[:2] == ("alpha", 3))
    trainer = make_trainer(MODEL, BASE)
    grads = flatten_tree(jax.jit(jax.grad(trainer.loss))(before, held_X, held_y)["adapters"])
    for path, alpha in _alphas(after).items():
        g = np.asarray(grads[path])
        expected = _alphas(before)[path] - 0.01 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(alpha, expected, rtol=1e-6, atol=1e-7)   # float32 rounding of one Adam step
    for path, value in flatten_tree(after).items():                        # the alpha step moves nothing else
        if not path.endswith("/alpha"):
            np.testing.assert_array_equal(value, flatten_tree(before)[path])


@pytest.mark.parametrize("method", ["head_only", "lora", "alpha_fixed", "alpha_lora", "dora", "full"])
def test_frozen_weights_do_not_move(method):
    config = dataclasses.replace(BASE, method=method, alpha_value=0.7, max_epochs=1)
    result = finetune_network(jax.random.key(2), PARAMS, MODEL, config, TRAIN, VAL, held_out=HELD)
    start = flatten_tree(PARAMS)
    moved = {p for p, v in flatten_tree(result.state["params"]).items() if not np.array_equal(v, start[p])}
    if method == "full":
        assert "blocks/0/attn/query/kernel" in moved and "embed/token" in moved
    else:
        assert moved == {"head/kernel", "head/bias"}                          # bitwise: everything else frozen
    alphas = _alphas(result.state)
    if method in ("lora", "alpha_fixed"):
        assert all(np.all(a == (0.7 if method == "alpha_fixed" else 1.0)) for a in alphas.values())
    if method == "alpha_lora":
        assert any(np.any(a != 1.0) for a in alphas.values())


def test_trainable_counts_by_hand():
    tiny = TransformerConfig(vocab_size=10, max_len=5, d_model=4, num_heads=2, d_mlp=8, num_layers=1)
    params = init_params(jax.random.key(0), tiny)
    # Base 250, head 4*2 + 2 = 10, LoRA rank 2 on q, v, fc1, fc2: 80, alpha or DoRA magnitude: 20.
    expected = {"head_only": 10, "full": 250, "lora": 90, "alpha_fixed": 90, "alpha_lora": 110, "dora": 110}
    for method, count in expected.items():
        config = dataclasses.replace(BASE, method=method)
        assert trainable_count(init_state(jax.random.key(0), params, config), method) == count, method


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        FinetuneConfig(method="prefix_tuning")
    with pytest.raises(ValueError, match="alpha_every must be a whole number >= 1"):
        FinetuneConfig(alpha_every=0)
    with pytest.raises(ValueError, match=r"train labels must be in \[0, 1\], got values in \[0, 2\]"):
        finetune_network(jax.random.key(0), PARAMS, MODEL, BASE, (TRAIN[0], np.where(TRAIN[1] == 1, 2, 0)), VAL, HELD)
    with pytest.raises(ValueError, match="held_out must be given"):
        finetune_network(jax.random.key(0), PARAMS, MODEL, BASE, TRAIN, VAL)
    with pytest.raises(ValueError, match=r"train tokens must be integer ids in \[0, \d+\), got dtype float"):
        finetune_network(jax.random.key(0), PARAMS, MODEL, BASE, (TRAIN[0].astype(np.float32), TRAIN[1]), VAL, HELD)
    with pytest.raises(ValueError, match=rf"val tokens must be integer ids in \[0, {MODEL.vocab_size}\), got dtype "
                                         rf"int\d+, values in \[-1, "):
        finetune_network(jax.random.key(0), PARAMS, MODEL, BASE, TRAIN, (np.where(VAL[0] == VAL[0][0, 0], -1, VAL[0]),
                                                                         VAL[1]), HELD)
    with pytest.raises(ValueError, match=r"rank must be <= min\(in, out\) = 8"):
        finetune_network(jax.random.key(0), PARAMS, MODEL, dataclasses.replace(BASE, adapter=AdapterConfig(rank=9)),
                 TRAIN, VAL, HELD)
    with pytest.raises(ValueError, match="targets must name at least one"):
        FinetuneConfig(adapter=AdapterConfig(targets=[]))


@pytest.mark.slow   # pre-training also runs, end to end, in test_transformer_experiment.py
def test_pretraining_lowers_the_loss():
    rng = np.random.default_rng(0)
    X = rng.integers(0, TASK.vocab_size, (256, 32)).astype(np.int32)
    y = (X[:, 0] < TASK.vocab_size // 2).astype(np.int32)         # learnable from one token's embedding
    _, losses = pretrain(jax.random.key(0), MODEL, X, y, epochs=4, batch_size=32, learning_rate=1e-2,
                         progress=False)
    assert losses[-1] < losses[0] - 0.05, losses   # 0.70 -> 0.61 seen with this seed


def _padded_task(rows: int, seed: int):
    """Token rows of 3 to 40 real tokens right-padded with id 0 to width 64, and random labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 41, rows)
    X = np.zeros((rows, 64), np.int32)
    for row, length in enumerate(lengths):
        X[row, :length] = rng.integers(1, TASK.vocab_size, length)
    return X, rng.integers(0, 2, rows).astype(np.int32), lengths


def test_trimmed_padding_changes_the_cost_not_the_logits():
    from rmt_alpha.nn._encoder import apply
    from rmt_alpha.nn._step import trim_padding

    padded = dataclasses.replace(MODEL, max_len=64, pad_token_id=0)
    params = init_params(jax.random.key(4), padded)
    X_pad, y, lengths = _padded_task(40, 0)
    X_short = X_pad[lengths < 20]
    assert trim_padding(X_pad, 0).shape == (40, 40) and trim_padding(X_short, 0).shape[1] == 24
    assert trim_padding(X_short, 0, multiple=16).shape[1] == 32 and trim_padding(X_short, 0, multiple=64).shape[1] == 64
    # masked keys and mean pooling over real tokens: the same logits to float32 rounding.
    for multiple in (8, 16):
        np.testing.assert_allclose(apply(params, trim_padding(X_pad, 0, multiple=multiple), padded),
                                   apply(params, X_pad, padded), rtol=1e-5, atol=1e-6)
    trainer = make_trainer(padded, BASE)
    state = init_state(jax.random.key(0), params, BASE)
    expected = np.mean(np.argmax(np.asarray(apply(params, X_pad, padded)), axis=1) == y)
    for chunk, multiple in ((16, 8), (64, 16), (7, 64)):      # chunks of any size, the last one padded
        assert trainer.accuracy(state, X_pad, y, chunk, multiple) == expected


def test_the_speedups_keep_a_seeds_numbers():
    """Cutting the batches to multiples of 8 tokens and evaluating in chunks of 16 rows (the defaults) against the
    plain computation (full width, one chunk): the same seed gives the same validation history, the same steps and
    alpha updates, the same test accuracy, and the same trained adapters to float32 rounding (1e-5: a few Adam steps
    on gradients that differ in the last bits)."""
    from rmt_alpha.nn._finetune import evaluate

    padded = dataclasses.replace(MODEL, max_len=64, pad_token_id=0)
    params = init_params(jax.random.key(5), padded)
    X, y, _ = _padded_task(200, 1)
    train, val, held, test = (X[:64], y[:64]), (X[64:96], y[64:96]), (X[96:128], y[96:128]), (X[128:], y[128:])
    fast = dataclasses.replace(BASE, max_epochs=3, learning_rate=1e-2, alpha_learning_rate=0.05)
    plain = dataclasses.replace(fast, width_multiple=64, eval_chunk=200)
    assert (fast.width_multiple, fast.eval_chunk) == (8, 16)
    results = [finetune_network(jax.random.key(2), params, padded, config, train, val, held_out=held)
               for config in (fast, plain)]
    a, b = results
    assert a.val_history == b.val_history and (a.steps, a.alpha_steps) == (b.steps, b.alpha_steps)
    assert evaluate(a.state, padded, fast, *test) == evaluate(b.state, padded, plain, *test)
    for path, value in flatten_tree(a.state["adapters"]).items():
        np.testing.assert_allclose(value, flatten_tree(b.state["adapters"])[path], rtol=1e-5, atol=1e-5)
    assert any(not np.allclose(v, 1.0) for p, v in _alphas(a.state).items())     # alpha did move
