"""Max-min weighted semantic performance over ground users, driven by a fitted model.

Our design of the journal version's use of the model (its formulation is unpublished):
maximise t subject to w_u·M(R_u, SNR_u) >= t for every user u, with
SNR_u = 10·log10(P_u·g_u / N0), R_u from the realisable ratios, P_u >= 0,
Σ P_u <= P_total and Σ ⌈R_u·n⌉ <= the total channel uses.

Solver: bisection on t between the equal baseline's value (feasible) and a ceiling no user
can pass. For a given t, user u at ratio R needs exactly P = N0·10^(min_snr(R, t/w_u)/10)/g_u
(inf when unreachable), so feasibility is a multiple-choice knapsack, one ratio per user with
least total power within the channel-use budget, solved exactly by dynamic programming over
channel uses counted in units of the gcd of the ratios' channel uses. Powers are the least
that reach the final t; any power left over is reported, not spent. Operating SNRs stay
inside the fit's SNR range (``SemanticLossModel.snr_domain``): outside it a family
extrapolates (U3/U4's exponentials explode at low SNR), so no user is driven below it.
Feasibility allows a relative excess of POWER_RTOL over P_total for rounding, which the
final powers are scaled back from.

users.yaml (safe YAML within the limits of semjscc.parsing)::

    total_power: 1.0          # P_total (linear, same unit as noise_power)
    noise_power: 1.0e-9       # N0
    total_channel_uses: 4096  # channel uses shared by all users
    source_dim: 12288         # n = 3·64·64 values per image
    ratios: [1/4, 1/6, 1/8, 1/12, 1/16, 1/24, 1/48]  # numbers or "a/b" strings
    users:
      - {name: u1, weight: 1.0, gain: 1.0e-8}   # gain linear, or gain_db; weight default 1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..parsing import read_yaml
from .checks import fall, invalid
from .fit import FitError
from .model import SNR_STEP_DB, SemanticLossModel, group_label

POWER_RTOL = 1e-12
T_RTOL = 1e-10
MAX_TABLE = 50_000_000  # users × budget units of the knapsack table
_TOP_KEYS = ("total_power", "noise_power", "total_channel_uses", "source_dim", "ratios",
             "users")
_USER_KEYS = ("name", "weight", "gain", "gain_db")


def _number(value: Any, what: str, source: str, *, positive: bool = True,
            integer: bool = False) -> float:
    """A finite number (numeric strings such as ``1e-9`` accepted), one-line error if not."""
    kind = "a positive integer" if integer else "a positive number" if positive else "a number"
    try:
        x = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or (positive and x <= 0) or (integer and not x.is_integer()):
        raise FitError(f"{source}: {what} must be {kind}; got {value!r}")
    return x


def _ratio(value: Any, what: str, source: str) -> float:
    try:
        r = float(Fraction(value.replace(" ", ""))) if isinstance(value, str) else value
    except (ValueError, ZeroDivisionError):
        raise FitError(f"{source}: {what} must be a number or an 'a/b' fraction; "
                       f"got {value!r}") from None
    return _number(r, what, source)


@dataclass(frozen=True)
class User:
    name: str
    weight: float
    gain: float  # linear channel power gain


@dataclass(frozen=True)
class AllocationProblem:
    """Budgets, realisable ratios (ascending) and users of a max-min allocation."""

    total_power: float
    noise_power: float
    total_channel_uses: int
    source_dim: int
    ratios: tuple[float, ...]
    users: tuple[User, ...]

    @property
    def channel_uses(self) -> np.ndarray:
        """⌈R·n⌉ channel uses of each ratio (R·n itself for realisable ratios)."""
        return np.ceil(np.asarray(self.ratios) * self.source_dim - 1e-9).astype(np.int64)

    def snr_db(self, power: np.ndarray, gain: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 10 * np.log10(power * gain / self.noise_power)

    @classmethod
    def from_dict(cls, data: Any, source: str = "users.yaml") -> AllocationProblem:
        if not isinstance(data, Mapping):
            raise FitError(f"{source}: expected a mapping with keys {', '.join(_TOP_KEYS)}")
        unknown = sorted(set(data) - set(_TOP_KEYS))
        missing = [k for k in _TOP_KEYS if k not in data]
        if unknown or missing:
            problem = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
            raise FitError(f"{source}: {problem}; valid keys: {', '.join(_TOP_KEYS)}")
        ratios = data["ratios"]
        if not isinstance(ratios, list) or not ratios:
            raise FitError(f"{source}: ratios must be a non-empty list, e.g. [1/4, 1/8, 1/16]")
        users = data["users"]
        if not isinstance(users, list) or not users:
            raise FitError(f"{source}: users must be a non-empty list of "
                           "{name, weight, gain} mappings")
        return cls(_number(data["total_power"], "total_power", source),
                   _number(data["noise_power"], "noise_power", source),
                   int(_number(data["total_channel_uses"], "total_channel_uses", source,
                               integer=True)),
                   int(_number(data["source_dim"], "source_dim", source, integer=True)),
                   tuple(sorted({_ratio(r, f"ratios[{i}]", source)
                                 for i, r in enumerate(ratios)})),
                   _users(users, source))

    @classmethod
    def load(cls, path: str | Path) -> AllocationProblem:
        path = Path(path)
        if not path.exists():
            raise FitError(f"users file {path} does not exist; see `semjscc allocate --help` "
                           "for its format")
        try:
            data = read_yaml(path, "users file")
        except InputError as exc:  # a FIFO, not UTF-8, not YAML, beyond a limit
            raise FitError(str(exc)) from None
        return cls.from_dict(data, str(path))


def _users(entries: list[Any], source: str) -> tuple[User, ...]:
    users = []
    for i, u in enumerate(entries):
        where = f"users[{i}]"
        if not isinstance(u, Mapping):
            raise FitError(f"{source}: {where} must be a mapping with name, weight, gain")
        unknown = sorted(set(u) - set(_USER_KEYS))
        if unknown:
            raise FitError(f"{source}: {where} has unknown key {unknown[0]!r}; valid keys: "
                           f"{', '.join(_USER_KEYS)}")
        if ("gain" in u) == ("gain_db" in u):
            raise FitError(f"{source}: {where} needs exactly one of gain (linear) or gain_db")
        gain = (_number(u["gain"], f"{where}.gain", source) if "gain" in u else
                10 ** (_number(u["gain_db"], f"{where}.gain_db", source, positive=False) / 10))
        users.append(User(str(u.get("name", f"user{i + 1}")),
                          _number(u.get("weight", 1.0), f"{where}.weight", source), gain))
    names = [u.name for u in users]
    if len(set(names)) != len(names):
        raise FitError(f"{source}: user names must be unique; got {', '.join(names)}")
    return tuple(users)


@dataclass(frozen=True)
class UserAllocation:
    name: str
    weight: float
    gain_db: float
    cr: float
    channel_uses: int
    power: float
    snr_db: float
    quality: float
    weighted_quality: float


@dataclass(frozen=True)
class Allocation:
    """One scheme's per-user allocation; ``min_weighted`` is the objective."""

    scheme: str
    users: tuple[UserAllocation, ...]

    @property
    def min_weighted(self) -> float:
        return min(u.weighted_quality for u in self.users)

    @property
    def total_power(self) -> float:
        return sum(u.power for u in self.users)

    @property
    def total_channel_uses(self) -> int:
        return sum(u.channel_uses for u in self.users)

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "min_weighted_quality": self.min_weighted,
                "total_power": self.total_power, "total_channel_uses": self.total_channel_uses,
                "users": [asdict(u) for u in self.users]}


def _allocation(model: SemanticLossModel, problem: AllocationProblem, scheme: str,
                ratio_index: np.ndarray, power: np.ndarray) -> Allocation:
    gains = np.array([u.gain for u in problem.users])
    cr = np.asarray(problem.ratios)[ratio_index]
    snr = problem.snr_db(power, gains)
    quality = model.predict(cr, snr)
    uses = problem.channel_uses[ratio_index]
    return Allocation(scheme, tuple(
        UserAllocation(u.name, u.weight, float(10 * np.log10(u.gain)), float(cr[i]),
                       int(uses[i]), float(power[i]), float(snr[i]), float(quality[i]),
                       float(u.weight * quality[i]))
        for i, u in enumerate(problem.users)))


def equal_baseline(model: SemanticLossModel, problem: AllocationProblem) -> Allocation:
    """P_u = P_total/U and every user at the largest ratio with U·⌈R·n⌉ within the budget."""
    n_users = len(problem.users)
    fits = np.flatnonzero(n_users * problem.channel_uses <= problem.total_channel_uses)
    if not fits.size:
        raise FitError(f"total_channel_uses {problem.total_channel_uses} cannot carry "
                       f"{n_users} users even at the smallest ratio "
                       f"{problem.ratios[0]:.6g} ({n_users * problem.channel_uses[0]} needed)")
    index = np.full(n_users, fits[-1])
    return _allocation(model, problem, "equal", index,
                       np.full(n_users, problem.total_power / n_users))


def least_power(costs: np.ndarray, uses: np.ndarray, capacity: int) -> tuple[float, np.ndarray]:
    """Exact multiple-choice knapsack: pick one column per row of ``costs`` (U, J) with
    Σ uses[j] <= capacity (integers) and least total cost; (total, picks), total inf if none."""
    best = np.zeros(capacity + 1)
    picks = np.zeros((costs.shape[0], capacity + 1), np.int64)
    for u, row in enumerate(costs):
        options = np.full((row.size, capacity + 1), np.inf)
        for j, (c, k) in enumerate(zip(row, uses)):
            if k <= capacity:
                options[j, k:] = best[:capacity + 1 - k] + c
        picks[u] = options.argmin(0)
        best = options.min(0)
    chosen = np.zeros(costs.shape[0], np.int64)
    budget = capacity
    for u in range(costs.shape[0] - 1, -1, -1):
        chosen[u] = picks[u, budget]
        budget -= uses[chosen[u]]
    return float(best[capacity]), chosen


def snr_scan(model: SemanticLossModel) -> np.ndarray:
    """The SNRs [dB] the solver scans: SNR_STEP_DB apart over the model's SNR domain."""
    lo, hi = model.snr_domain
    return np.append(np.arange(lo, hi, SNR_STEP_DB), hi)


def check_allocatable(model: SemanticLossModel, problem: AllocationProblem,
                      source: str = "the model") -> None:
    """FitError (one line naming ``source``) unless ``model`` can drive an allocation over
    ``problem``'s ratios: finite parameters inside the family's bounds, a fit over more than
    one SNR, and M that does not fall as SNR rises (over the SNR domain the solver scans) or
    as R rises (over the ratios); a falling fit would buy a user quality by cutting power."""
    what = f"{model.family} of {model.metric} ({group_label(model.group)}) in {source}"
    problems = invalid(model.fit)
    if problems:
        raise FitError(f"cannot allocate with {what}: {problems[0]}; refit with "
                       "`semjscc fit-semloss`")
    lo, hi = model.snr_domain
    if not hi > lo:
        raise FitError(f"cannot allocate with {what}: it was fitted at a single SNR "
                       f"({lo:g} dB), so it cannot say how M changes with SNR; fit results "
                       "over several SNRs")
    where = fall(model.predict, np.asarray(problem.ratios), snr_scan(model))
    if where:
        raise FitError(f"cannot allocate with {what}: it {where}, so it would reward "
                       "cutting power or rate; refit with more SNRs and ratios, or pick a "
                       "family that rises with --family")


def allocate(model: SemanticLossModel, problem: AllocationProblem) -> Allocation:
    """The max-min weighted-quality allocation (see the module docstring); refuses a model
    that :func:`check_allocatable` rejects."""
    check_allocatable(model, problem)
    weights = np.array([u.weight for u in problem.users])
    gains = np.array([u.gain for u in problem.users])
    ratios = np.asarray(problem.ratios)
    unit = int(np.gcd.reduce(problem.channel_uses))
    uses, capacity = problem.channel_uses // unit, problem.total_channel_uses // unit
    if len(problem.users) * (capacity + 1) > MAX_TABLE:
        raise FitError(f"the channel-use budget is {capacity} units of {unit} channel uses, too "
                       "fine for the exact knapsack; use ratios whose R*n share a larger divisor")

    domain = model.snr_domain  # never an operating point the fit has not seen

    def powers(t: float) -> np.ndarray:
        snr = model.min_snr(ratios[None, :], (t / weights)[:, None], snr_range=domain)
        return problem.noise_power * 10 ** (snr / 10) / gains[:, None]

    def solve(t: float) -> tuple[float, np.ndarray, np.ndarray]:
        p = powers(t)
        total, picks = least_power(p, uses, capacity)
        return total, picks, p[np.arange(len(picks)), picks]

    def feasible(t: float) -> bool:
        return solve(t)[0] <= problem.total_power * (1 + POWER_RTOL)

    lo = equal_baseline(model, problem).min_weighted
    full = problem.snr_db(problem.total_power, gains)
    grid = snr_scan(model)
    reach = np.where(grid[None, None, :] <= full[:, None, None],
                     model.predict(ratios[None, :, None], grid), -np.inf).max(-1)
    inside = np.clip(full, *domain)
    reach = np.maximum(reach, model.predict(ratios[None, :], inside[:, None]))
    hi = float((weights * reach.max(1)).min())
    if feasible(hi):
        lo = hi
    while hi - lo > T_RTOL * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if feasible(mid) else (lo, mid)
    total, picks, power = solve(lo)
    return _allocation(model, problem, "max-min", picks,
                       power * min(1.0, problem.total_power / total))
