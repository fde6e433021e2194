"""Real data for the transfer experiments: the Amazon Review domains (400 features) and scikit-learn's digits.

Amazon Review: four product domains (books, dvd, elec, kitchen), about 2,000 reviews each, positive or negative.
Each `<domain>_400.mat` holds `fts` (samples x 400) and `labels` (samples x 1, 0/1). These are the 400-dimensional
features of the multi-domain sentiment data of Blitzer et al. (2007) used for domain adaptation by Chen, Xu,
Weinberger and Sha, "Marginalized denoising autoencoders for domain adaptation" (ICML 2012); public copies are in
the data folder of the scikit-adaptation (skada) benchmark. The data are read, never bundled: `rmt-alpha fetch amazon`
downloads them once into the data cache (`rmt_alpha.data.fetch`), where the loaders find them with every file
checked against its pinned SHA-256; a `directory` argument reads another copy as it is.

Digits: scikit-learn's bundled `load_digits` (8 x 8 images, 64 features, no download) as a digit-pair transfer
task: the source separates two digits (e.g. 6 vs 8), the target two others (e.g. 5 vs 9).

Layout follows scikit-learn: `X` has shape (n_samples, p), labels `y` are float64 in {-1, +1}.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.io
import sklearn.datasets

from rmt_alpha.data._cache import find_item

AMAZON_DOMAINS = ("books", "dvd", "elec", "kitchen")
"""The four Amazon Review domains (400 features each)."""
AMAZON_FILE = "{domain}_400.mat"
AMAZON_ORIGIN = ("the 400-feature Amazon Review domains (Blitzer et al. 2007; Chen et al., ICML 2012, mSDA), public "
                 "in the data folder of the scikit-adaptation (skada) benchmark")


class Domain(NamedTuple):
    """One labelled domain: features `X` (n_samples, p) float64 and labels `y` (n_samples,) in {-1, +1}.

    Attributes:
        name: the domain's name (e.g. "books", "6-vs-8").
        X: (n_samples, p) float64 features.
        y: (n_samples,) float64 labels in {-1, +1}.
    """

    name: str
    X: np.ndarray
    y: np.ndarray


def amazon_directory(directory=None) -> Path:
    """The Amazon data folder: `directory` (read as it is), else the fetched copy (`find_item("amazon")`: the first
    data root holding all four files, each checked against its pinned SHA-256).

    Raises:
        FileNotFoundError: no such `directory` (naming it, the files expected and the data's origin), or no fetched
            copy (saying how to fetch it: `rmt-alpha fetch amazon`, or by hand).
        CorruptFileError: a fetched file whose SHA-256 is not the pinned one (naming the file and both hashes).
    """
    if directory is None:
        return find_item("amazon")
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"Amazon Review data folder not found: {path} (the directory argument). Expected "
                                f"the files {', '.join(AMAZON_FILE.format(domain=d) for d in AMAZON_DOMAINS)}, "
                                f"each with 'fts' (samples x 400) and 'labels' (samples x 1, 0/1): "
                                f"{AMAZON_ORIGIN}.")
    return path


def load_amazon_domain(domain: str, directory=None) -> Domain:
    """Load one Amazon Review domain: `Domain(name, X (n, 400) float64, y (n,) in {-1, +1})`.

    Labels 0/1 in the file become -1/+1.

    Args:
        domain: one of `AMAZON_DOMAINS`.
        directory: the Amazon data folder (default: the fetched copy, as `amazon_directory`).

    Returns:
        Domain: the domain's features and labels.

    Raises:
        ValueError: an unknown domain, or a file that is not a readable `.mat` with the expected `fts` and `labels`
            (naming the file).
        FileNotFoundError: a missing folder or file.

    Example:
        >>> import numpy as np
        >>> from rmt_alpha.data import load_amazon_domain
        >>> books = load_amazon_domain("books")   # doctest: +SKIP
        >>> books.X.shape, np.unique(books.y)      # doctest: +SKIP
        ((2000, 400), array([-1.,  1.]))
    """
    if domain not in AMAZON_DOMAINS:
        raise ValueError(f"domain must be one of {AMAZON_DOMAINS}, got {domain!r}")
    path = amazon_directory(directory) / AMAZON_FILE.format(domain=domain)
    if not path.is_file():
        raise FileNotFoundError(f"Amazon Review file not found: {path}. Expected 'fts' (samples x 400) and "
                                f"'labels' (samples x 1, 0/1): {AMAZON_ORIGIN}.")
    try:
        contents = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises several types for a damaged file; all mean the same here
        raise ValueError(f"cannot read {path} as a MATLAB .mat file ({type(error).__name__}: {error}); "
                         f"replace it with a fresh copy of {AMAZON_ORIGIN}") from error
    if "fts" not in contents or "labels" not in contents:
        found = sorted(key for key in contents if not key.startswith("__"))
        raise ValueError(f"{path} must hold the variables 'fts' and 'labels', found {found}")
    X = np.asarray(contents["fts"], dtype=np.float64)
    labels = np.asarray(contents["labels"]).ravel()
    if X.ndim != 2 or labels.shape != (X.shape[0],):
        raise ValueError(f"{path}: 'fts' must be (samples, features) and 'labels' (samples, 1), got "
                         f"{X.shape} and {np.shape(contents['labels'])}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path}: 'fts' contains {np.count_nonzero(~np.isfinite(X))} NaN or infinite value(s)")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise ValueError(f"{path}: 'labels' must be 0/1, got the values {np.unique(labels)[:6].tolist()}")
    return Domain(domain, X, 2.0 * labels.astype(np.float64) - 1.0)


def load_amazon(directory=None, domains=AMAZON_DOMAINS) -> dict[str, Domain]:
    """Load several Amazon Review domains (default: all four) into `{name: Domain}`.

    Args:
        directory: the Amazon data folder (default: the fetched copy, as `amazon_directory`).
        domains: names from `AMAZON_DOMAINS`.

    Returns:
        dict: name -> `Domain`.

    Raises:
        ValueError: an unknown domain or an unreadable file (as `load_amazon_domain`).
        FileNotFoundError: a missing folder or file.
    """
    directory = amazon_directory(directory)   # the fetched copy is found (and its files hashed) once, not per domain
    return {domain: load_amazon_domain(domain, directory) for domain in domains}


def amazon_pairs(domains=AMAZON_DOMAINS) -> list[tuple[str, str]]:
    """The ordered source -> target pairs of distinct domains (12 for the four domains), in the paper's order.

    Args:
        domains: domain names (default `AMAZON_DOMAINS`).

    Returns:
        list of (source, target) name pairs.

    Example:
        >>> from rmt_alpha.data import amazon_pairs
        >>> len(amazon_pairs())
        12
    """
    return [(source, target) for source in domains for target in domains if source != target]


def load_digit_pair(positive: int, negative: int) -> Domain:
    """A two-digit task from scikit-learn's bundled digits (no download): `positive` -> +1, `negative` -> -1.

    Features are the 64 pixel intensities (0 to 16) as float64.

    Args:
        positive: the digit (0-9) labelled +1.
        negative: another digit (0-9), labelled -1.

    Returns:
        Domain: named "positive-vs-negative", X (n, 64), y (n,).

    Raises:
        ValueError: a digit outside 0-9, or twice the same digit.

    Example:
        >>> from rmt_alpha.data import load_digit_pair
        >>> load_digit_pair(6, 8).X.shape
        (355, 64)
    """
    for name, digit in (("positive", positive), ("negative", negative)):
        if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit <= 9:
            raise ValueError(f"{name} must be a digit 0-9, got {digit!r}")
    if positive == negative:
        raise ValueError(f"positive and negative must be different digits, got {positive} twice")
    images, digits = sklearn.datasets.load_digits(return_X_y=True)
    keep = (digits == positive) | (digits == negative)
    return Domain(f"{positive}-vs-{negative}", images[keep].astype(np.float64),
                  np.where(digits[keep] == positive, 1.0, -1.0))


DIGIT_TASKS = {"6-vs-8 -> 5-vs-9": ((6, 8), (5, 9)), "3-vs-8 -> 5-vs-9": ((3, 8), (5, 9)),
               "1-vs-7 -> 4-vs-9": ((1, 7), (4, 9))}


def load_digit_tasks(tasks=None) -> dict[str, tuple[Domain, Domain]]:
    """Digit-pair transfer tasks `{name: (source Domain, target Domain)}` (default: `DIGIT_TASKS`).

    Args:
        tasks: `{name: ((source positive, source negative), (target positive, target negative))}` (default
            `DIGIT_TASKS`).

    Returns:
        dict: name -> (source `Domain`, target `Domain`).

    Raises:
        ValueError: a digit outside 0-9, or a pair with twice the same digit.

    Example:
        >>> from rmt_alpha.data import load_digit_tasks
        >>> sorted(load_digit_tasks())[0]
        '1-vs-7 -> 4-vs-9'
    """
    tasks = DIGIT_TASKS if tasks is None else tasks
    return {name: (load_digit_pair(*source), load_digit_pair(*target)) for name, (source, target) in tasks.items()}
