"""The teaching notebooks in theory/ are stored with the outputs of a complete run (so that they render where
people read them) and still execute top to bottom (nbclient, a fresh python3 kernel, cwd theory/). Each is meant
to finish in under two minutes on a CPU; the per-cell timeout is generous so that a loaded CI machine does not fail
them for speed (speed is not asserted here). `python theory/run_notebooks.py` refreshes the stored outputs.

The notebooks hold no `assert`, so that a student can change any parameter and run on. The numbers a notebook's
text states are checked here instead (`STATED`): each is a pair of the words in a markdown cell and the output line
of a code cell that produces them, and both must be found, in the stored notebook (fast) and in a fresh run
(`headline`). A changed formula or a changed result then fails here, naming the claim, and the text must follow."""

import importlib.util
import os
import re
from typing import NamedTuple

import nbformat
import pytest

THEORY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "theory")
_spec = importlib.util.spec_from_file_location("run_notebooks", os.path.join(THEORY, "run_notebooks.py"))
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)


class Stated(NamedTuple):
    """A number the text states (`text`, in a markdown cell) and the printed output that produces it (`output`, in a
    code cell's output). Whitespace is normalised in both, so that a wrapped line still matches."""

    text: str
    output: str


STATED = {
    "00_resolvent.ipynb": [
        Stated("the eigenvalues spread from 0.14 to 2.60 (the law's edges: 0.135 and 2.665)",
               "eigenvalues from 0.143 to 2.602; Marchenko-Pastur edges 0.135 and 2.665"),
        Stated("within a fraction of a percent of $\\delta/\\eta$ at every $\\gamma$",
               "largest relative gap between one draw and delta / eta over the gammas: 0.0046"),
        Stated("give the same $\\delta$ to about $10^{-13}$", "|iteration - ridge_scalars| = 1.6e-15"),
        Stated("agrees to the third decimal", "tr Q / n of the draw = 0.2195"),
        Stated("$\\delta$ for a new point", "fresh points: mean 0.2195"),
        Stated("$\\delta / (1 + \\delta)$ for a point the resolvent was built from",
               "training points: mean 0.1807, sd 0.0101; delta / (1 + delta) = 0.1802"),
        Stated("follows $\\bar Q^2 / h$", "tr Q^2 / p measured 0.3277, Qbar^2 / h 0.3286, Qbar^2 0.3020"),
    ],
    "01_linear_model.ipynb": [
        Stated("$\\alpha^\\star = 1.7105$ and the accuracies 0.7551, 0.8493, 0.8504 at $\\alpha = 0, 1, 3$",
               "alpha* = 1.7105 alpha = 0.0000: predicted accuracy 0.7551 alpha = 1.0000: predicted accuracy 0.8493 "
               "alpha = 3.0000: predicted accuracy 0.8504"),
        Stated("The accuracy at $\\alpha^\\star$ itself, 0.8564, is not in section 3",
               "alpha = 1.7105: predicted accuracy 0.8564"),
        Stated("plain fine-tuning keeps 0.60 of it here", "keeps kappa / lambda = 0.602 of the source term s"),
        Stated("here the largest gap is 0.6 standard errors", "largest |gap|: 0.6 standard errors"),
        Stated("at most 0.8 standard errors", "largest |gap| over p and alpha: 0.8 standard errors"),
        Stated("has log-slope $-0.64 \\pm 0.05$",
               "log-slope of the standard error against p (alpha = 1): -0.64 +- 0.05"),
        Stated("(hatched, 0.38 of the map)", "alpha = 1 is worse than alpha = 0: 0.38"),
        Stated("(at most 3.0 points for $\\beta > 0$)",
               "largest gain of alpha* over alpha = 1 for beta > 0: 3.0 points"),
        Stated("$n / p = 0.25$, $\\alpha^\\star = 1.71$", "at the cross: alpha* = 1.71"),
    ],
    "02_choosing_alpha_from_samples.ipynb": [
        Stated("(22.00 at $n = 20$ where $m + p / n = 21.80$)", "n = 20: m plug-in 22.00 (m + p / n = 21.80)"),
        Stated("median 0.07 at $n = 20$, 0.41 at $n = 200$, where the truth is 1.70 and 1.62",
               "median alpha* plug-in 0.07, unbiased 1.53, true 1.70"),
        Stated("0.41 at $n = 200$", "median alpha* plug-in 0.41, unbiased 1.66, true 1.62"),
        Stated("(1.87, 1.78, 1.77 for $m = 1.8$); at $n = 20$ its mean is 2.41", "unbiased 2.41 +- 1.29"),
        Stated("(1.87, 1.78, 1.77", "unbiased 1.87 +- 0.56"),
        Stated("within 0.5 of $\\alpha^\\star$ in only 36% of the draws, and do no harm keeps it in 6%",
               "n = 20: estimate within 0.5 of alpha* in 36% of the draws; do no harm keeps the estimate in 6%, "
               "chooses alpha = 1 in 91%"),
        Stated("in 85% of the draws at $n = 200$). The rule still rarely keeps the estimate itself (11% at $n = 200$)",
               "n = 200: estimate within 0.5 of alpha* in 85% of the draws; do no harm keeps the estimate in 11%, "
               "chooses alpha = 1 in 15%"),
        Stated("(17.334 points lost at $n = 20$, 2.438 at $n = 200$)", "20 0.480 17.334 0.486 0.448"),
        Stated("(0.073 against 0.435 at $n = 200$)", "200 0.435 2.438 0.073 0.253"),
        Stated("(1.88 $\\pm$ 0.07, for $\\alpha^\\star = 1.70$) and the accuracy lost falls to 0.012 points, "
               "against 0.448",
               "n = 20: with the pool, chosen alpha 1.88 +- 0.07 (alpha* = 1.70), accuracy lost 0.012 points; "
               "labelled rows only 0.448, alpha = 1 0.480"),
        Stated("The pair reaches 0.8711 at $\\alpha^\\star = (1.44, 0.48)$, against 0.8652 for $w_s$ alone",
               "two sources: alpha* = (1.44, 0.48), accuracy 0.8711; w_s alone at its alpha* 0.8652"),
        Stated("(0.48, from 0.8604 at", "accuracy at alpha* 0.8652, at alpha = 1 0.8604"),
        Stated("0.8783 at $\\alpha^\\star = (1.16, 0.40, 0.52)$",
               "three sources, alpha >= 0: alpha* = (1.16, 0.40, 0.52), accuracy 0.8783"),
        Stated("within 2.0 standard errors of the surface",
               "largest |measured - predicted| over the 16 markers: 2.0 standard errors"),
        Stated("loses 0.021 points against the vector $\\alpha^\\star$ on average (using $w_s$ alone at its "
               "$\\alpha^\\star$ would lose 1.308)",
               "accuracy lost against the vector alpha* 0.021 points; w_s alone at its alpha* 1.308"),
    ],
    "03_choosing_alpha_amazon.ipynb": [
        Stated("(books -> dvd: measured 0.764, covariance-aware 0.752, isotropic 0.801)",
               "books -> dvd alpha = 1: measured 0.764, isotropic 0.801, covariance 0.752"),
        Stated("dvd -> elec meets the isotropic curve above $\\alpha = 3$ (to within 0.001: the printed largest "
               "measured - isotropic)",
               "largest measured - isotropic for alpha >= 3: -0.001"),
        Stated("1.80 and 2.09 where the measured best is 2.8 (books -> dvd)", "books -> dvd 1.80 2.09 3.04 2.8"),
        Stated("1.05 and 1.27 against 2.3 (dvd -> elec)", "dvd -> elec 1.05 1.27 1.68 2.3"),
        Stated("1.45 and 1.66 against 3.0 (kitchen -> books)", "kitchen -> books 1.45 1.66 2.57 3.0"),
        Stated("(mean gap over the grid 0.22, 0.19, 0.11 points, against 0.81 to 2.60 for the Gaussian theories)",
               "2.8 2.49 / 2.00 / 0.22"),
        Stated("0.22, 0.19, 0.11 points, against 0.81 to 2.60", "2.3 0.81 / 2.60 / 0.19"),
        Stated("0.22, 0.19, 0.11 points", "3.0 2.10 / 1.87 / 0.11"),
        Stated("$\\alpha^\\star$ (3.04, 1.68, 2.57)", "1.68 2.3"),
        Stated("(0.6273 against 0.7607 for $\\alpha = 1$)", "alpha=0 0.6273 0.00 alpha=1 0.7607 1.00"),
        Stated("(7/12 pairs above $\\alpha = 1$, +0.05 points on average)",
               "alpha* theory beats alpha = 1 on 7/12 pairs, by +0.05 points on average"),
        Stated("(it beats it on 1 of the 12 pairs, -0.77 points on average)",
               "CV beats alpha = 1 on 1/12 pairs, by -0.77 points on average"),
        Stated("about one point over $\\alpha = 1$ (+1.07), on every pair (12/12)",
               "pool beats alpha = 1 on 12/12 pairs, by +1.07 points on average"),
        Stated("1.69 points above $\\alpha = 1$", "oracle - alpha = 1: 1.69 points"),
    ],
    "04_transformer_alphas.ipynb": [
        Stated("is -0.78 pt (95% interval -1.06 to -0.50; the registered half-width of at most 0.5 pt is met)",
               "alpha_lora - lora_more_data: -0.78 pt, 95% interval [-1.06, -0.50], 60 seeds per pair"),
        Stated("The theory's registered sign holds on one pair of three",
               "uci-imdb -> uci-amazon: alpha_lora - lora_more_data -0.50 pt, predicted -1.67: supported"),
        Stated("α-LoRA still beats LoRA by +0.51 pt", "alpha_lora - lora: +0.51 pt, 95% interval [+0.21, +0.82]"),
        Stated("DoRA does nothing (+0.03 pt)", "dora - lora: +0.03 pt, 95% interval [-0.05, +0.11]"),
        Stated("(+1.75, +1.47, +0.53 pt where it predicted +1.52, +1.28, +0.08)",
               "vader-products -> vader-movies: frozen_ridge_choose_alpha - frozen_ridge_alpha1 +1.75 pt, predicted "
               "+1.52: supported"),
        Stated("(+1.75, +1.47, +0.53 pt where it predicted +1.52, +1.28, +0.08)",
               "uci-imdb -> uci-amazon: frozen_ridge_choose_alpha - frozen_ridge_alpha1 +0.53 pt, predicted +0.08: "
               "supported"),
        Stated("LoRA beats the frozen encoder's ridge head at `choose_alpha`'s α by 2.82 pt",
               "frozen_ridge_choose_alpha - lora: -2.82 pt, 95% interval [-3.17, -2.47]"),
        Stated("about 1.8 hours on a 2-core CPU", "wall time of the stored run: 1.8 hours"),
        Stated("misses the measured curve by 12 to 14 points", "n = 50, mean : isotropic 13.8 pt"),
        Stated("misses the measured curve by 12 to 14 points", "n = 20, midpoint: isotropic 12.1 pt"),
        Stated("1.11 pt at $n = 20$ (15 of 18 pairs within 1.5 pt)",
               "n = 20, mean : isotropic 13.4 pt, covariance 1.11 pt (worst 3.18, within 1.5 pt on 15/18)"),
        Stated("0.76 / 0.61 / 0.52 pt at $n = 20 / 50 / 100$, and at most 1.51 pt on any pair",
               "n = 20, midpoint: isotropic 12.1 pt, covariance 0.76 pt (worst 1.51, within 1.5 pt on 17/18)"),
        Stated("0.76 / 0.61 / 0.52 pt", "n = 50, midpoint: isotropic 12.5 pt, covariance 0.61 pt (worst 1.07"),
        Stated("0.76 / 0.61 / 0.52 pt", "n = 100, midpoint: isotropic 12.1 pt, covariance 0.52 pt (worst 1.37"),
        Stated("0.30 pt on average at $n = 20$ (worst 0.56, the tweet pairs included), and the accuracy measured at "
               "its $\\alpha^\\star$ is within 0.1 pt of the best grid alpha on 17 of 18 pairs",
               "n = 20, semi-empirical: 0.30 pt (worst 0.56); its alpha* within 0.1 pt of the best grid alpha on "
               "17/18"),
        Stated("vader-tweets -> vader-editorials has the largest predicted gain (+1.28 pt) and uci-imdb -> uci-amazon "
               "the smallest (+0.08 pt)",
               "chosen at n = 50: largest vader-tweets -> vader-editorials +1.28 pt, smallest "
               "uci-imdb -> uci-amazon +0.08 pt; the stored run's pairs: True"),
        Stated("largest vader-products -> vader-movies, +1.52 pt; smallest vader-movies -> vader-tweets, +0.21 pt",
               "at n = 20 the extremes differ: largest vader-products -> vader-movies +1.52 pt, smallest "
               "vader-movies -> vader-tweets +0.21 pt"),
        Stated("above the predicted one on 17 of 18 pairs at $n = 20$",
               "measured gain above the predicted one on 17/18 pairs at n = 20"),
        Stated("beats $\\alpha = 1$ on 14 of 18 pairs (sign test p = 0.031)",
               "n = 20: pool covariance beats alpha = 1 on 14/18 pairs (loses 4, sign test p = 0.031), +0.50 pt; "
               "oracle - pool covariance 1.09 pt"),
        Stated("on 15 of 18 at $n = 50$ (p = 0.008)",
               "n = 50: pool covariance beats alpha = 1 on 15/18 pairs (loses 3, sign test p = 0.008), +0.34 pt; "
               "oracle - pool covariance 0.92 pt"),
        Stated("(1.09 / 0.92 / 0.68 pt at $n = 20 / 50 / 100$). At $n = 100$ the gain is small (10 of 18 pairs)",
               "n = 100: pool covariance beats alpha = 1 on 10/18 pairs (loses 7, sign test p = 0.629), +0.14 pt; "
               "oracle - pool covariance 0.68 pt"),
        Stated("(it wins 6, 4 and 1 of 18)", "pool (isotropic) beats alpha = 1 on [6, 4, 1] pairs"),
        Stated("+1.1 pt on both pairs", "alpha_lora - lora +1.10 pt"),
        Stated("+1.1 pt on both pairs", "alpha_lora - lora +1.12 pt"),
        Stated("+1.11 ± 0.49 pt, p = 0.036", "alpha_lora - lora +1.11 +- 0.49 pt (p = 0.036"),
        Stated("+0.71 ± 0.34 pt over LoRA (pooled, p = 0.047)", "lora_more_data - lora +0.71 +- 0.34 pt (p = 0.047"),
        Stated("+0.40 ± 0.45 pt (p = 0.380; +0.55 and +0.25 pt per pair",
               "alpha_lora - lora_more_data +0.40 +- 0.45 pt (p = 0.380"),
        Stated("+0.55 and +0.25 pt per pair", "alpha_lora - lora_more_data +0.55 pt"),
        Stated("+0.55 and +0.25 pt per pair", "alpha_lora - lora_more_data +0.25 pt"),
        Stated("(+1.28 pt and +0.08 pt)", "alpha* = 2.29, predicted gain +1.28 pt"),
        Stated("(+1.28 pt and +0.08 pt)", "alpha* = 1.24, predicted gain +0.08 pt"),
        Stated("+0.12 ± 0.06 pt over LoRA (pooled)", "dora - lora +0.12 +- 0.06 pt"),
        Stated("head_alpha - head_lora is -0.60 and -0.55 pt", "head_alpha - head_lora -0.60 pt"),
        Stated("head_alpha - head_lora is -0.60 and -0.55 pt", "head_alpha - head_lora -0.55 pt"),
        Stated("(0.761 and 0.822)", "learned head alpha 0.761 (null 0.535)"),
        Stated("(0.761 and 0.822)", "learned head alpha 0.822 (null 0.597)"),
        Stated("above 1 (2.29 and 1.24); with shuffled labels it moves down further (0.535 and 0.597)", "(null 0.597)"),
        Stated("correlation over seeds 0.982 to 0.999; 0.024 to 0.037 per update",
               "uci-imdb -> uci-amazon alpha_lora spread per update 0.0242"),
        Stated("correlation over seeds 0.982 to 0.999; 0.024 to 0.037 per update",
               "vader-tweets -> vader-editorials alpha_lora spread per update 0.0314, "
               "correlation(spread, updates) 0.982"),
        Stated("correlation over seeds 0.982 to 0.999; 0.024 to 0.037 per update",
               "uci-imdb -> uci-amazon alpha_lora_null spread per update 0.0369, correlation(spread, updates) 0.999"),
        Stated("by 4.32 and 4.45 pt (10/0 and 9/1 seeds; p = 0.001 and 0.007)",
               "vader-tweets -> vader-editorials: alpha_lora - alpha_lora_null +4.32 pt (10/0 seeds, p = 0.001)"),
        Stated("by 4.32 and 4.45 pt (10/0 and 9/1 seeds; p = 0.001 and 0.007)",
               "uci-imdb -> uci-amazon: alpha_lora - alpha_lora_null +4.45 pt (9/1 seeds, p = 0.007)"),
    ],
}


def _amazon_missing() -> str:
    from rmt_alpha.data import load_amazon_domain

    try:
        load_amazon_domain("books")
    except (FileNotFoundError, ValueError) as error:
        return str(error)
    return ""


def _errors(notebook) -> list:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
            if output.output_type == "error"]


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _markdown(notebook) -> str:
    return _normalised(" ".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown"))


def _printed(notebook) -> str:
    """Everything the code cells printed or returned as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "execute_result":
                parts.append(output.get("data", {}).get("text/plain", ""))
    return _normalised("\n".join(parts))


def _check_stated(name, notebook):
    markdown, printed = _markdown(notebook), _printed(notebook)
    for claim in STATED.get(name, []):
        assert _normalised(claim.text) in markdown, f"{name}: the text no longer says {claim.text!r}"
        assert _normalised(claim.output) in printed, (
            f"{name}: no output {claim.output!r}, which the text's {claim.text!r} rests on")


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_is_stored_with_the_outputs_of_a_complete_run(name):
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), (
        f"{name} is not stored as one top-to-bottom run: run `python theory/run_notebooks.py {name}`")
    assert not _errors(notebook), f"{name} is stored with an error output"
    assert any(output.get("data", {}).get("image/png") for cell in code for output in cell.outputs), (
        f"{name} is stored without its figures")
    stderr = [output.text for cell in code for output in cell.outputs
              if output.output_type == "stream" and output.name == "stderr"]
    assert not stderr, f"{name} is stored with output on stderr (a warning?): {stderr[0][:200]!r}"


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_teaches_as_the_course_does(name):
    """Formulas in the text, one parameter cell first, "Try" prompts, and no `assert` to stop a student who changed
    a parameter."""
    notebook = nbformat.read(os.path.join(THEORY, name), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert re.search(r"\$[^$]+\$", _markdown(notebook)), f"{name} has no formula in its text"
    assert "# Parameters" in code[0].source, f"{name}: the first code cell is not the parameter cell"
    assert sum("# Parameters" in cell.source for cell in code) == 1, f"{name} has more than one parameter cell"
    assert "## Try" in _markdown(notebook), f"{name} has no Try section"
    asserting = [cell.source.splitlines()[0] for cell in code if re.search(r"^\s*assert\b|np\.testing\.assert",
                                                                           cell.source, re.MULTILINE)]
    assert not asserting, f"{name} asserts in a cell (the tests check its numbers): {asserting}"


@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_stored_notebook_states_what_its_outputs_show(name):
    _check_stated(name, nbformat.read(os.path.join(THEORY, name), as_version=4))


@pytest.mark.headline
@pytest.mark.parametrize("name", run_notebooks.NOTEBOOKS)
def test_notebook_executes_and_states_what_it_computes(name):
    if "amazon" in name:
        missing = _amazon_missing()
        if missing:
            pytest.skip(f"Amazon Review data absent: {missing}")
    notebook = run_notebooks.execute(name)   # raises CellExecutionError, naming the cell, when any cell fails
    assert not _errors(notebook)
    _check_stated(name, notebook)


def _markdown_of(name: str) -> str:
    return _markdown(nbformat.read(os.path.join(THEORY, name), as_version=4))


def test_resolvent_try_prompts_say_what_the_library_computes():
    """The Try prompts of notebook 0 state what other parameters give; recomputed here as the notebook would."""
    import numpy as np

    from rmt_alpha import ridge_scalars

    markdown = _markdown_of("00_resolvent.ipynb")
    assert "3/8 of the eigenvalues are exactly 0" in markdown and 1 - 1 / (1600 / 1000) == 3 / 8
    assert f"falls to {float(ridge_scalars(1.0, 0.05).h):.2f} at $\\gamma = 0.05$" in markdown
    p, n = 40, 100   # the notebook's draw at these sizes (seed 0): the largest relative gap of the trace
    X = np.random.default_rng(0).standard_normal((n, p))
    eigenvalues = np.linalg.eigvalsh(X.T @ X / n)
    gammas = np.geomspace(0.05, 20.0, 40)
    trace = np.array([np.mean(1.0 / (eigenvalues + g)) for g in gammas])
    assert "within 3% of $\\delta / \\eta$" in markdown
    assert np.max(np.abs(trace / (ridge_scalars(p / n, gammas).delta * n / p) - 1)) < 0.03


def test_linear_model_try_prompts_say_what_the_library_computes():
    """The Try prompts of notebook 1 state what other parameters give; recomputed here with the library."""
    from rmt_alpha import SourceStats, TargetStats, optimal_alpha, predicted_accuracy, ridge_scalars

    markdown = _markdown_of("01_linear_model.ipynb")
    source = SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0)

    def case(beta, n, gamma):
        target = TargetStats.from_alignment(source, beta=beta, perp_norm=0.6, n=n, gamma=gamma)
        best = float(optimal_alpha(source, target))
        return best, [float(predicted_accuracy(source, target, a)) for a in (0.0, 1.0, best)]

    best, (_, at_one, at_best) = case(-0.8, 100, 1.0)
    assert f"$\\alpha^\\star = {best:.2f}$" in markdown and f"to {at_one:.2f} and" in markdown
    assert f"recovers {at_best:.4f}" in markdown
    best, (at_zero, at_one, _) = case(1.3, 1600, 1.0)
    assert at_one < at_zero and f"falls to about {best:.2f}" in markdown
    best, (at_zero, at_one, _) = case(0.8, 1600, 1.0)
    assert at_one > at_zero and f"$\\alpha^\\star = {best:.2f}$)" in markdown
    best, (_, at_one, _) = case(0.8, 400, 0.01)
    assert f"$h$ drops to {float(ridge_scalars(1.0, 0.01).h):.2f}" in markdown
    assert f"({at_one:.2f} at $\\alpha = 1$)" in markdown and f"jumps to about {best:.0f}" in markdown
    best, _ = case(0.0, 100, 1.0)
    assert best == 0.0 and "$\\alpha^\\star = 0$: the source only brings noise" in markdown


def test_samples_try_prompts_say_what_the_library_computes():
    """Notebook 2's Try prompts, recomputed with its first cell's draws (seed 0)."""
    import numpy as np

    from rmt_alpha import SourceStats, TargetStats, choose_alpha, optimal_alpha
    from rmt_alpha.linear import fit_ridge
    from rmt_alpha.simulate import make_mixture

    markdown = _markdown_of("02_choosing_alpha_from_samples.ipynb")
    rng = np.random.default_rng(0)
    source = SourceStats.from_norm(p=400, mean_norm=1.5, n=2000, gamma=1.0)
    w_s = fit_ridge(*make_mixture(2000, source.mean, random_state=rng), 1.0)
    mu_t = TargetStats.from_alignment(source, beta=0.3, perp_norm=0.6, n=20, gamma=1.0).mean
    best = float(optimal_alpha(w_s, TargetStats(mean=mu_t, n=20, gamma=1.0)))
    assert f"it rises ({best:.2f} at $n = 20$)" in markdown and f"($m = {mu_t @ mu_t:.2f}$ instead of 1.8)" in markdown
    X, y = make_mixture(20, mu_t, random_state=rng)
    pool, _ = make_mixture(200, mu_t, random_state=rng)
    assert choose_alpha(w_s, X, y, unlabelled=pool, bootstrap=0).covariance == "isotropic"
    assert "`choose_alpha` uses the isotropic theory instead of the covariance-aware one" in markdown


def test_transformer_notebook_states_what_the_stored_run_holds():
    """Notebook 4's statements that rest on the stored run's intervals (drawn, not printed) and its Try prompts,
    recomputed from theory/results/text_transfer.json."""
    import json

    with open(os.path.join(THEORY, "results", "text_transfer.json"), encoding="utf-8") as handle:
        result = json.load(handle)
    markdown = _markdown_of("04_transformer_alphas.ipynb")
    paired, link = result["finetune_tables"]["paired"], result["finetune_tables"]["theory_link"]
    # "95% intervals include 0 on each pair" (alpha_lora and head_alpha against lora, head_lora, lora_more_data)
    assert "95% intervals include 0 on each pair" in markdown and "intervals include 0" in markdown
    assert all(r["ci_low"] < 0 < r["ci_high"] for r in paired
               if r["baseline"] in ("lora", "head_lora", "lora_more_data")
               and r["method"] in ("alpha_lora", "head_alpha"))
    # "each pair's interval contains 0 and both predicted gains"
    gains = [r["predicted_gain"] for r in link]
    assert all(r["ci_low"] < min(0.0, *gains) and r["ci_high"] > max(gains) for r in paired
               if (r["method"], r["baseline"]) == ("alpha_lora", "lora"))
    assert all(r["ci_low"] > 0 for r in paired if r["baseline"] == "alpha_lora_null")
    # Try n = 100: the fine-tuned pairs' covariance gap and predicted gain
    rows = {(r["source"], r["target"]): r for r in result["theory_tables"]["prediction"]
            if r["alpha"] == 1.0 and r["n"] == 100 and r["centre"] == "mean"}
    chosen = [rows[tuple(pair)] for pair in result["finetune_pairs"]]
    gap = " and ".join(f"{100 * r['mean_abs_gap_covariance_over_grid']:.2f}" for r in chosen)
    gain = " and ".join(f"{100 * r['predicted_gain_covariance']:+.2f}" for r in chosen)
    assert f"({gap} pt)" in markdown and f"(+{gain[1:]} pt;" in markdown
    # Try: another tweet pair, 3 points off at the mean, recovered at the midpoint
    tweets = [r for r in result["theory_tables"]["prediction"] if r["alpha"] == 1.0 and r["n"] == 20
              and (r["source"], r["target"]) == ("vader-editorials", "vader-tweets")]
    by_centre = {r["centre"]: 100 * r["mean_abs_gap_covariance_over_grid"] for r in tweets}
    assert by_centre["mean"] > 2.5 and by_centre["midpoint"] < 1.0


@pytest.mark.headline
def test_amazon_try_prompts_say_what_the_library_computes():
    """Notebook 3's Try prompts for section 1, recomputed as the notebook would compute them (about a minute)."""
    import numpy as np

    missing = _amazon_missing()
    if missing:
        pytest.skip(f"Amazon Review data absent: {missing}")
    from rmt_alpha.data import load_amazon
    from rmt_alpha.experiments import ALPHA_GRID, predict_vs_measure

    domains, markdown = load_amazon(), _markdown_of("03_choosing_alpha_amazon.ipynb")

    def check(source, target, n, gamma):
        result = predict_vs_measure(domains[source], domains[target], ALPHA_GRID, n=n, gamma=gamma,
                                    source_gamma=gamma, splits=10, seed=0, semi_empirical=True)
        best = result.alpha[np.argmax(result.measured.mean)]
        return result.alpha_star_isotropic, result.alpha_star_covariance, result.alpha_star_semi_empirical, best

    books, dvd = check("books", "dvd", 100, 1.0), check("dvd", "elec", 100, 1.0)
    assert f"({books[3]:.1f} on books -> dvd, {dvd[3]:.1f} on dvd -> elec)" in markdown
    assert f"({books[0]:.2f} and {books[1]:.2f}, {dvd[0]:.2f} and {dvd[1]:.2f})" in markdown
    assert f"near it ({books[2]:.2f}, {dvd[2]:.2f})" in markdown
    elec = check("elec", "kitchen", 20, 1.0)
    stated = f"{elec[0]:.2f} and {elec[1]:.2f} against a measured best of {elec[3]:.1f}, semi-empirical {elec[2]:.2f}"
    assert stated in markdown
    strong = [check("books", "dvd", 20, 10.0)[3], check("dvd", "elec", 20, 10.0)[3]]
    assert f"(measured best {strong[0]:.1f} on books -> dvd, {strong[1]:.1f} on dvd -> elec)" in markdown
