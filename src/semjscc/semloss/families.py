"""Model families of the unified semantic-loss model: quality M(R, γ) of one metric.

All four families (U1–U4) are our own designs. The paper this package follows ("Toward a
Unified Semantic Loss Model for Deep JSCC-based Transmission of EO Imagery") fits one
parametric surface over (compression ratio, SNR) to every metric but does not publish its
formula; the families below are built from the shapes it and its predecessor describe
(shifted sigmoid + exponential, Exp-2, multi-term exponentials).

Conventions: R is the realised compression ratio k/n (> 0), γ the SNR in dB, ρ = ln R and M
the normalised quality (higher is better). A parameter vector ``theta`` is a 1-D float array
in the order of :meth:`Family.names`; :meth:`Family.evaluate` broadcasts ``cr`` and
``snr_db`` against each other. Data with a single R value cannot identify the R-dependent
parts: :meth:`Family.collapsed` lists the parameters then held fixed, which makes M a function
of γ alone (constant in R).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

NOTE = "U1-U4 are our own designs: the paper's exact semantic-loss formula is unpublished"


@dataclass(frozen=True)
class Scope:
    """Ranges of the data being fitted; they place the boxes random starts are drawn from."""

    snr_lo: float
    snr_hi: float
    y_lo: float
    y_hi: float

    @property
    def span(self) -> float:
        return max(self.y_hi - self.y_lo, 0.05)


@dataclass(frozen=True)
class Box:
    """Per-parameter start box ``[lo, hi]``; ``log`` marks log-uniform draws (``lo > 0``)."""

    lo: np.ndarray
    hi: np.ndarray
    log: np.ndarray

    def centre(self) -> np.ndarray:
        return np.where(self.log, np.sqrt(np.abs(self.lo * self.hi)), 0.5 * (self.lo + self.hi))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(self.lo.shape)
        lin = self.lo + u * (self.hi - self.lo)
        lo, hi = np.where(self.log, self.lo, 1.0), np.where(self.log, self.hi, 1.0)
        logs = lo * np.exp(u * np.log(hi / lo))
        return np.where(self.log, logs, lin)


def _box(entries: list[tuple[float, float, bool]]) -> Box:
    lo, hi, log = zip(*entries)
    return Box(np.array(lo, float), np.array(hi, float), np.array(log, bool))


def _exp(x: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(x, -700.0, 700.0))


class Family(ABC):
    """One functional form M(R, γ; θ). ``n_terms`` only matters for multi-term families."""

    name: ClassVar[str]
    formula: ClassVar[str]
    multi_term: ClassVar[bool] = False

    @abstractmethod
    def names(self, n_terms: int = 1) -> list[str]:
        """Parameter names, in the order of ``theta``."""

    @abstractmethod
    def evaluate(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        """M at (R, γ), broadcasting ``cr`` against ``snr_db``."""

    @abstractmethod
    def bounds(self, n_terms: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``theta`` for the least-squares fit."""

    @abstractmethod
    def start_box(self, scope: Scope, n_terms: int = 1) -> Box:
        """Where random starts are drawn (inside :meth:`bounds`)."""

    @abstractmethod
    def collapsed(self, n_terms: int = 1) -> dict[str, float]:
        """Parameters held at these values when the data has a single R value."""

    @abstractmethod
    def identifying(self, n_terms: int = 1) -> tuple[int, int]:
        """The fewest distinct SNRs and distinct Rs that pin down the shape along each axis
        (fewer leave some of its parameters free to take any value)."""


class U1(Family):
    """U1 (ours, the default): a sigmoid in SNR whose ceiling and midpoint depend on R.

    M = M_min + (M_max(R) − M_min) / (1 + exp(−κ·(γ − γ₀(R)))),
    M_max(R) = a0 − a1·exp(−a2·R),  γ₀(R) = b0 + b1·ln R.
    Bounds: a1, a2 ≥ 0 (the ceiling rises with R), κ > 0 (M rises with γ wherever
    M_max(R) > M_min). Single R:
    a1 = a2 = b1 = 0, leaving M_min + (a0 − M_min)·σ(κ·(γ − b0)).
    """

    name = "U1"
    formula = ("M = M_min + (M_max(R) - M_min) / (1 + exp(-kappa*(snr_db - g0(R)))), "
               "M_max(R) = a0 - a1*exp(-a2*R), g0(R) = b0 + b1*ln(R)")

    def names(self, n_terms: int = 1) -> list[str]:
        return ["M_min", "a0", "a1", "a2", "b0", "b1", "kappa"]

    def evaluate(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        m_min, a0, a1, a2, b0, b1, kappa = theta
        cr = np.asarray(cr, float)
        m_max = a0 - a1 * _exp(-a2 * cr)
        g0 = b0 + b1 * np.log(cr)
        return m_min + (m_max - m_min) * expit(kappa * (np.asarray(snr_db, float) - g0))

    def bounds(self, n_terms: int = 1) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([-0.5, -0.5, 0.0, 0.0, -60.0, -30.0, 1e-3]),
                np.array([1.5, 2.0, 2.0, 1000.0, 60.0, 30.0, 20.0]))

    def start_box(self, scope: Scope, n_terms: int = 1) -> Box:
        s = scope.span
        return _box([(scope.y_lo - 0.2 * s, scope.y_lo + 0.1 * s, False),
                     (scope.y_hi, scope.y_hi + 0.2 * s, False), (0.0, s, False),
                     (1.0, 100.0, True), (scope.snr_lo, scope.snr_hi, False),
                     (-5.0, 1.0, False), (0.1, 3.0, True)])

    def collapsed(self, n_terms: int = 1) -> dict[str, float]:
        return {"a1": 0.0, "a2": 0.0, "b1": 0.0}

    def identifying(self, n_terms: int = 1) -> tuple[int, int]:
        return 4, 3  # floor, ceiling, midpoint, slope in SNR; a0, a1, a2 of M_max(R)


class U2(Family):
    """U2 (ours): separable, a 3-parameter logistic in SNR times a saturating R factor.

    M = A / (1 + exp(−k·(γ − g0))) · (1 − alpha·exp(−beta·R)).
    Bounds: A, k > 0, 0 ≤ alpha ≤ 1, beta ≥ 0 (M rises with γ and with R).
    Single R: alpha = beta = 0, leaving the logistic alone.
    """

    name = "U2"
    formula = "M = A / (1 + exp(-k*(snr_db - g0))) * (1 - alpha*exp(-beta*R))"

    def names(self, n_terms: int = 1) -> list[str]:
        return ["A", "k", "g0", "alpha", "beta"]

    def evaluate(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        a, k, g0, alpha, beta = theta
        logistic = a * expit(k * (np.asarray(snr_db, float) - g0))
        return logistic * (1.0 - alpha * _exp(-beta * np.asarray(cr, float)))

    def bounds(self, n_terms: int = 1) -> tuple[np.ndarray, np.ndarray]:
        return np.array([0.0, 1e-3, -60.0, 0.0, 0.0]), np.array([3.0, 20.0, 60.0, 1.0, 1000.0])

    def start_box(self, scope: Scope, n_terms: int = 1) -> Box:
        top = max(scope.y_hi, 0.05)
        return _box([(top, 1.3 * top, False), (0.1, 3.0, True),
                     (scope.snr_lo, scope.snr_hi, False), (0.0, 0.8, False),
                     (1.0, 100.0, True)])

    def collapsed(self, n_terms: int = 1) -> dict[str, float]:
        return {"alpha": 0.0, "beta": 0.0}

    def identifying(self, n_terms: int = 1) -> tuple[int, int]:
        return 3, 3  # A, k, g0 in SNR; level, alpha, beta in R


class LinearFamily(Family):
    """A family linear in some of its parameters (the amplitudes): M = basis(θ) · θ[mask].
    The fitter solves the amplitudes by linear least squares for each value of the other
    parameters (variable projection), so they are unbounded and their start values unused.
    On data no sum of exponentials fits well, two terms with nearly equal rates may carry
    large opposite amplitudes (approaching γ·exp(b·γ)); predictions stay well defined."""

    @abstractmethod
    def linear_mask(self, size: int) -> np.ndarray:
        """Boolean mask of the amplitudes in a ``theta`` of length ``size``."""

    @abstractmethod
    def basis(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        """Shape broadcast(cr, snr_db) + (number of amplitudes,)."""

    @abstractmethod
    def gradient(self, theta: np.ndarray, cr: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        """∂M/∂θ for 1-D ``cr`` and ``snr_db`` of equal length N: shape (N, theta.size)."""

    def evaluate(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        return self.basis(theta, cr, snr_db) @ theta[self.linear_mask(theta.size)]


class U3(LinearFamily):
    """U3 (ours): a sum of N exponential terms in SNR and ln R.

    M = Σ_{i=1..N} a_i·exp(b_i·γ + c_i·ln R), N chosen from a cross-validated MAPE-vs-N curve.
    Parameters a1, b1, c1, a2, b2, c2, ...; the amplitudes a_i are free in sign and solved
    linearly. Single R: c_i = 0.
    """

    name = "U3"
    formula = "M = sum_{i=1..N} a_i * exp(b_i*snr_db + c_i*ln(R))"
    multi_term = True

    def names(self, n_terms: int = 1) -> list[str]:
        return [f"{p}{i}" for i in range(1, n_terms + 1) for p in "abc"]

    def linear_mask(self, size: int) -> np.ndarray:
        return np.tile([True, False, False], size // 3)

    def basis(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        rho = np.log(np.asarray(cr, float))[..., None]
        _, b, c = theta.reshape(-1, 3).T
        return _exp(b * np.asarray(snr_db, float)[..., None] + c * rho)

    def gradient(self, theta: np.ndarray, cr: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        basis = self.basis(theta, cr, snr_db)
        a = theta[0::3]
        rho = np.log(cr)[:, None]
        parts = [basis, a * snr_db[:, None] * basis, a * rho * basis]
        return np.stack(parts, -1).reshape(cr.size, -1)

    def bounds(self, n_terms: int = 1) -> tuple[np.ndarray, np.ndarray]:
        return (np.tile([-np.inf, -1.0, -2.0], n_terms),
                np.tile([np.inf, 1.0, 2.0], n_terms))

    def start_box(self, scope: Scope, n_terms: int = 1) -> Box:
        return _box([(0.0, 0.0, False), (-0.4, 0.4, False), (-0.5, 0.5, False)] * n_terms)

    def collapsed(self, n_terms: int = 1) -> dict[str, float]:
        return {f"c{i}": 0.0 for i in range(1, n_terms + 1)}

    def identifying(self, n_terms: int = 1) -> tuple[int, int]:
        return 2 * n_terms, n_terms + 1  # a_i, b_i per term in SNR; the powers c_i in R


class U4(LinearFamily):
    """U4 (ours): Exp-2 in SNR with every coefficient linear in ρ = ln R.

    M = a(ρ)·exp(b(ρ)·γ) + c(ρ)·exp(d(ρ)·γ), with a(ρ) = a0 + a1·ρ, b(ρ) = b0 + b1·ρ,
    c(ρ) = c0 + c1·ρ, d(ρ) = d0 + d1·ρ. The amplitudes a0, a1, c0, c1 are free in sign and
    solved linearly. Single R: a1 = b1 = c1 = d1 = 0.
    """

    name = "U4"
    formula = ("M = a(rho)*exp(b(rho)*snr_db) + c(rho)*exp(d(rho)*snr_db), rho = ln(R), "
               "a(rho) = a0 + a1*rho, b(rho) = b0 + b1*rho, c(rho) = c0 + c1*rho, "
               "d(rho) = d0 + d1*rho")

    def names(self, n_terms: int = 1) -> list[str]:
        return ["a0", "a1", "b0", "b1", "c0", "c1", "d0", "d1"]

    def linear_mask(self, size: int) -> np.ndarray:
        return np.array([True, True, False, False] * 2)

    def basis(self, theta: np.ndarray, cr: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
        _, _, b0, b1, _, _, d0, d1 = theta
        rho = np.log(np.asarray(cr, float))
        snr = np.asarray(snr_db, float)
        first, second = _exp((b0 + b1 * rho) * snr), _exp((d0 + d1 * rho) * snr)
        return np.stack(np.broadcast_arrays(first, rho * first, second, rho * second), -1)

    def gradient(self, theta: np.ndarray, cr: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
        a0, a1, _, _, c0, c1, _, _ = theta
        rho = np.log(cr)
        first, _, second, _ = np.moveaxis(self.basis(theta, cr, snr_db), -1, 0)
        da, dc = snr_db * (a0 + a1 * rho) * first, snr_db * (c0 + c1 * rho) * second
        return np.stack([first, rho * first, da, rho * da, second, rho * second, dc, rho * dc],
                        -1)

    def bounds(self, n_terms: int = 1) -> tuple[np.ndarray, np.ndarray]:
        upper = np.array([np.inf, np.inf, 1.0, 0.5] * 2)
        return -upper, upper

    def start_box(self, scope: Scope, n_terms: int = 1) -> Box:
        pair = [(0.0, 0.0, False), (0.0, 0.0, False), (-0.3, 0.3, False), (-0.05, 0.05, False)]
        return _box(pair * 2)

    def collapsed(self, n_terms: int = 1) -> dict[str, float]:
        return {"a1": 0.0, "b1": 0.0, "c1": 0.0, "d1": 0.0}

    def identifying(self, n_terms: int = 1) -> tuple[int, int]:
        return 4, 2  # Exp-2 in SNR; every coefficient linear in ln R


FAMILIES: dict[str, Family] = {f.name: f for f in (U1(), U2(), U3(), U4())}
