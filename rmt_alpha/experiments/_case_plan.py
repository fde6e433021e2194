"""The registered plan of the transformer case (theory/transformer_registration.md): which pairs, at which n, over
which seeds, with which methods, and the linear theory's prediction for each pair (theory/THEORY.md sections 7
and 8).

The plan is data: `REGISTERED_PLAN` is exactly what the registration states, and `run_transformer_case` runs it
unit by unit (`rmt_alpha.experiments._transformer_case`). `plan_predictions` recomputes the theory's prediction for
every arm of a plan with the code of step 1 of `rmt-alpha text-transfer` (`predict_vs_measure` and the campaign's
prediction rows), so the registered numbers can be checked with the current code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rmt_alpha._validation import check_count
from rmt_alpha.experiments._text_domains import text_pairs
from rmt_alpha.experiments._text_finetune import (
    FROZEN_METHODS,
    HEAD_METHODS,
    LORA_MORE_DATA,
    METHODS,
    FinetuneSettings,
)

PRIMARY_METHODS = ("lora", "alpha_lora", LORA_MORE_DATA)
SECONDARY_METHODS = ("dora", "alpha_lora_null")


@dataclass(frozen=True)
class CaseArm:
    """One registered pair: fine-tuned with `n_train` labelled target rows per seed.

    Attributes:
        source: source domain (a text domain of `text_pairs()`).
        target: target domain.
        n_train: labelled target rows per seed (the theory's n).
        pair_index: separates the pair's rows from other pairs' (`split_rows`); the stored run's numbering.
    """

    source: str
    target: str
    n_train: int
    pair_index: int

    def __post_init__(self):
        if (self.source, self.target) not in text_pairs():
            raise ValueError(f"(source, target) must be a pair of text_pairs(), got {(self.source, self.target)}")
        check_count("n_train", self.n_train, minimum=2)
        check_count("pair_index", self.pair_index, minimum=0)

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}@n={self.n_train}"


@dataclass(frozen=True)
class CasePlan:
    """A fixed plan of fine-tuning runs: every arm, every seed, every method (units: one run of one method on one
    seed of one arm).

    Attributes:
        arms: the registered pairs (`CaseArm`).
        seeds: the paired seeds of the primary and the cheap methods (every arm).
        primary: methods run on every seed (the primary comparison's).
        secondary: encoder methods run on the first `secondary_seeds` seeds only.
        secondary_seeds: how many of `seeds` the secondary methods get.
        cheap: methods on the frozen encoder (head and ridge methods), run on every seed.
        finetune: the shared `FinetuneSettings` (its `n_train` is replaced by each arm's, its `methods` ignored).
    """

    arms: tuple
    seeds: tuple
    primary: tuple = PRIMARY_METHODS
    secondary: tuple = SECONDARY_METHODS
    secondary_seeds: int = 20
    cheap: tuple = HEAD_METHODS + FROZEN_METHODS
    finetune: FinetuneSettings = FinetuneSettings()

    def __post_init__(self):
        object.__setattr__(self, "arms", tuple(self.arms))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.arms or not all(isinstance(arm, CaseArm) for arm in self.arms):
            raise ValueError(f"arms must be a non-empty sequence of CaseArm, got {self.arms!r}")
        if len({arm.pair_index for arm in self.arms}) != len(self.arms):
            raise ValueError("arms must have distinct pair_index values (their rows are drawn apart)")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be distinct non-negative integers, got {self.seeds}")
        check_count("secondary_seeds", self.secondary_seeds, minimum=0)
        for name in ("primary", "secondary", "cheap"):
            methods = tuple(getattr(self, name))
            object.__setattr__(self, name, methods)
            unknown = [m for m in methods if m not in METHODS + FROZEN_METHODS]
            if unknown:
                raise ValueError(f"{name} must hold methods of {METHODS + FROZEN_METHODS}, got {list(methods)}")
        if not self.primary:
            raise ValueError("primary must hold at least one method, got none")

    def settings(self, arm: CaseArm) -> FinetuneSettings:
        """The `FinetuneSettings` of one arm: the shared ones at the arm's `n_train`, with every method the plan
        runs."""
        methods = tuple(dict.fromkeys(self.primary + self.secondary + self.cheap))
        return dataclasses.replace(self.finetune, n_train=arm.n_train, methods=methods, seeds=len(self.seeds))

    def units(self) -> list[tuple[CaseArm, int, str]]:
        """Every (arm, seed, method) of the plan, seed-major (after k seeds, every arm has its first k seeds), the
        secondary methods on the first `secondary_seeds` seeds only."""
        order = []
        for position, seed in enumerate(self.seeds):
            methods = self.primary + (self.secondary if position < self.secondary_seeds else ()) + self.cheap
            order += [(arm, seed, method) for arm in self.arms for method in dict.fromkeys(methods)]
        return order


REGISTERED_PLAN = CasePlan(
    arms=(CaseArm("vader-products", "vader-movies", 20, 2),
          CaseArm("vader-tweets", "vader-editorials", 50, 0),
          CaseArm("uci-imdb", "uci-amazon", 50, 1)),
    seeds=tuple(range(10, 70)))


def plan_predictions(plan: CasePlan, domains: dict, *, splits: int = 20, seed: int = 0) -> list[dict]:
    """The linear theory's predictions for every arm, as step 1 of `rmt-alpha text-transfer` computes them:
    covariance-aware theory with whole-target statistics, features centred at each domain's mean
    (`predict_vs_measure` on `ALPHA_GRID`, the campaign's prediction rows), with the linear model's measured
    counterpart on `splits` random splits beside each.

    Two predictions per arm, for the ridge classifier on the frozen features (theory/THEORY.md sections 7 and 8):
    the gain of alpha* over alpha = 1 at the arm's n (`acc(alpha*, n) - acc(1, n)`: the counterpart of alpha-LoRA
    against LoRA, and of the frozen ridge at the chosen alpha against alpha = 1), and the gain of alpha* at n over
    alpha = 1 given the held-out rows too (`acc(alpha*, n) - acc(1, n + n_held_out)`: the counterpart of
    alpha-LoRA against the data control, which trains on both).

    Args:
        plan: a `CasePlan`.
        domains: {name: Domain} of encoder features (`encoder_domains`) holding every arm's source and target.
        splits: random splits of the measured linear curves (step 1: 20).
        seed: their seed (step 1: 0).

    Returns:
        One dict per arm: source, target, n, n_control (n + n_held_out), alpha_star_covariance,
        predicted_gain_covariance, predicted_gain_over_control, measured_linear_gain (at alpha*),
        measured_linear_gain_over_control, predicted_accuracy_at_one.
    """
    from rmt_alpha.experiments._alpha_choices import ALPHA_GRID
    from rmt_alpha.experiments._campaign import _check_rows
    from rmt_alpha.experiments._prediction import predict_vs_measure

    def at_one(n):
        check = predict_vs_measure(domains[arm.source], domains[arm.target], ALPHA_GRID, n=n, splits=splits,
                                   seed=seed, covariance=True, centre="mean")
        return next(r for r in _check_rows([check]) if r["alpha"] == 1.0)

    rows = []
    for arm in plan.arms:
        n_control = arm.n_train + plan.finetune.n_held_out
        own, control = at_one(arm.n_train), at_one(n_control)
        predicted_at_star = own["predicted_covariance"] + own["predicted_gain_covariance"]
        measured_at_star = own["measured"] + own["measured_gain_at_alpha_star_covariance"]
        rows.append({"source": arm.source, "target": arm.target, "n": arm.n_train, "n_control": n_control,
                     "alpha_star_covariance": own["alpha_star_covariance"],
                     "predicted_accuracy_at_one": own["predicted_covariance"],
                     "predicted_gain_covariance": own["predicted_gain_covariance"],
                     "predicted_gain_over_control": predicted_at_star - control["predicted_covariance"],
                     "measured_linear_gain": own["measured_gain_at_alpha_star_covariance"],
                     "measured_linear_gain_over_control": measured_at_star - control["measured"]})
    return rows


__all__ = ["PRIMARY_METHODS", "REGISTERED_PLAN", "SECONDARY_METHODS", "CaseArm", "CasePlan", "plan_predictions"]
