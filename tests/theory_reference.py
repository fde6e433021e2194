"""theory/THEORY.md section 2 transcribed literally (T1, T2, T3 and the ridge-source invariants), as an independent
implementation for the tests. It subtracts E^2 from E2 naively, so it is only used where that is safe."""

import numpy as np
from scipy.stats import norm


def delta_by_iteration(eta, gamma, iterations=20000):
    d = eta
    for _ in range(iterations):
        d = eta * (1 + d) / (1 + gamma * (1 + d))
    return d


def literal_moments(m, s, omega, eta, gamma, alpha):
    delta = delta_by_iteration(eta, gamma)
    kappa = gamma * (1 + delta)
    lam = m + 1 + kappa
    h = 1 - eta / (1 + kappa) ** 2
    e = (m + alpha * kappa * s) / lam
    t1 = (m * ((m + 1) / lam - 2 * (1 - h)) / lam + (1 - h)) / h
    t2 = 2 * kappa * s * ((m + 1) / lam - (1 - h)) / (h * lam)
    t3 = kappa**2 * ((s / lam) ** 2 + (1 - h) * omega / eta + (1 - h) * s**2 * (m / lam - 2) / (eta * lam)) / h
    return e, t1 + alpha * t2 + alpha**2 * t3


def literal_ridge_source(m_s, eta_s, gamma_s):
    """`(1 / lam_s, |w_s|^2)`: `<w_s, v> -> <mu_s, v> / lam_s`."""
    delta = delta_by_iteration(eta_s, gamma_s)
    kappa = gamma_s * (1 + delta)
    lam = m_s + 1 + kappa
    h = 1 - eta_s / (1 + kappa) ** 2
    second = (m_s * ((m_s + 1) / lam - 2 * (1 - h)) / lam + (1 - h)) / h
    return 1 / lam, second - (m_s / lam) ** 2


def literal_accuracy(m, s, omega, eta, gamma, alpha):
    e, e2 = literal_moments(m, s, omega, eta, gamma, alpha)
    return norm.cdf(e / np.sqrt(e2 - e**2))


def literal_regression_risk(w_t, w_s, sigma, n, gamma, alpha):
    """theory/THEORY.md section 6 as written, with `lam = 1 + kappa` (no completed square, no alpha*)."""
    d, p = w_t.shape
    eta = p / n
    kappa = gamma * (1 + delta_by_iteration(eta, gamma))
    lam = 1 + kappa
    t_tt, t_ts, t_ss = np.trace(w_t @ w_t.T), np.trace(w_t @ w_s.T), np.trace(w_s @ w_s.T)
    return ((lam - 1) ** 2 * t_tt + sigma**2 * d * lam**2 + 2 * alpha * kappa * (1 - lam) * t_ts
            + alpha**2 * kappa**2 * t_ss) / (lam**2 - eta)


def literal_ridge_scalars(eta, gamma):
    """`(kappa, h)` of theory/THEORY.md section 2 from the iterated fixed point: `kappa = gamma (1 + delta)`,
    `h = 1 - eta / (1 + kappa)^2` (as written: it cancels when eta is close to (1 + kappa)^2)."""
    kappa = gamma * (1 + delta_by_iteration(eta, gamma))
    return kappa, 1 - eta / (1 + kappa) ** 2


def literal_sources_moments(m, s, omega, eta, gamma, alpha):
    """theory/THEORY.md section 10.1 as written: `E[y g] = (m + kappa s^T alpha) / lam` and
    `E[g^2] = T1 + T2^T alpha + alpha^T T3 alpha` for K fixed sources (`s` (K,), the Gram matrix `omega` (K, K),
    one alpha (K,)), the naive subtraction for the variance."""
    delta = delta_by_iteration(eta, gamma)
    kappa = gamma * (1 + delta)
    lam = m + 1 + kappa
    h = 1 - eta / (1 + kappa) ** 2
    e = (m + kappa * (s @ alpha)) / lam
    t1 = (m * ((m + 1) / lam - 2 * (1 - h)) / lam + (1 - h)) / h
    t2 = 2 * kappa * s * ((m + 1) / lam - (1 - h)) / (h * lam)
    t3 = kappa**2 * (np.outer(s, s) / lam**2 + (1 - h) * omega / eta
                     + (1 - h) * np.outer(s, s) * (m / lam - 2) / (eta * lam)) / h
    return e, t1 + t2 @ alpha + alpha @ t3 @ alpha
