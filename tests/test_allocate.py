"""Max-min allocation: users.yaml validation, the exact knapsack, and a brute-force check
of the optimum against an independent solver (root finding on the total power)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml
from scipy.optimize import brentq

from semjscc.errors import ConfigError
from semjscc.semloss import (
    AllocationProblem,
    FittedFamily,
    SemanticLossModel,
    allocate,
    equal_baseline,
)
from semjscc.semloss.allocate import least_power

MODEL = SemanticLossModel(FittedFamily("U1", {"M_min": 0.1, "a0": 0.95, "a1": 0.6, "a2": 20.0,
                                              "b0": -6.0, "b1": -2.5, "kappa": 0.6}),
                          "accuracy")
RATIOS = ["1/4", "1/6", "1/8", "1/12", "1/16", "1/24", "1/48"]
LOW, HIGH = -60.0, 120.0  # the SNR range min_snr searches


def problem(users: list[dict], channel_uses: int, ratios: list[str] = RATIOS) -> AllocationProblem:
    data = {"total_power": 1.0, "noise_power": 1e-9, "total_channel_uses": channel_uses,
            "source_dim": 12288, "ratios": ratios, "users": users}
    return AllocationProblem.from_dict(data)


def brute_force(model: SemanticLossModel, prob: AllocationProblem) -> float:
    """Best min weighted quality over every ratio combination; for each, the t at which the
    users' least powers (by brentq on the model) add up to P_total."""
    w = np.array([u.weight for u in prob.users])
    g = np.array([u.gain for u in prob.users])
    uses = prob.channel_uses

    def power(r: float, target: float, gain: float) -> float:
        if model.predict(r, LOW) >= target:
            return 0.0
        if model.predict(r, HIGH) < target:
            return np.inf
        snr = brentq(lambda s: model.predict(r, s) - target, LOW, HIGH, xtol=1e-13)
        return prob.noise_power * 10 ** (snr / 10) / gain

    best = -np.inf
    for combo in itertools.product(range(len(prob.ratios)), repeat=len(prob.users)):
        if uses[list(combo)].sum() > prob.total_channel_uses:
            continue
        r = np.asarray(prob.ratios)[list(combo)]
        full = prob.snr_db(prob.total_power, g)
        top = float(np.min(w * model.predict(r, full)))
        floor = float(np.max(w * model.predict(r, LOW)))

        def excess(t: float, r: np.ndarray = r) -> float:
            return sum(power(ri, t / wi, gi) for ri, wi, gi in zip(r, w, g)) - prob.total_power

        best = max(best, top if excess(top) <= 0 else brentq(excess, floor, top, xtol=1e-13))
    return best


@pytest.mark.parametrize("users, channel_uses, ratios", [
    ([{"name": "near", "gain": 1e-8}, {"name": "far", "weight": 1.3, "gain_db": -87}], 3072,
     RATIOS),
    ([{"name": "a", "gain": 1e-8}, {"name": "b", "gain_db": -84, "weight": 1.2},
      {"name": "c", "gain": 3e-9, "weight": 0.8}], 3 * 1024 + 512, RATIOS[1:6]),
])
def test_solver_matches_brute_force_and_beats_the_equal_baseline(users, channel_uses, ratios):
    prob = problem(users, channel_uses, ratios=ratios)
    best = allocate(MODEL, prob)
    assert best.min_weighted == pytest.approx(brute_force(MODEL, prob), abs=1e-7)
    assert best.total_power <= prob.total_power
    assert best.total_channel_uses <= prob.total_channel_uses
    for u in best.users:
        assert u.channel_uses == round(u.cr * prob.source_dim) and u.power >= 0
        assert u.snr_db == pytest.approx(10 * np.log10(u.power * 10 ** (u.gain_db / 10) / 1e-9))
        assert u.weighted_quality == pytest.approx(u.weight * MODEL.predict(u.cr, u.snr_db))
    base = equal_baseline(MODEL, prob)
    assert base.min_weighted <= best.min_weighted + 1e-12
    assert {u.cr for u in base.users} == {max(r for r in prob.ratios
                                              if len(users) * r * 12288 <= channel_uses)}
    assert [u.power for u in base.users] == pytest.approx([1 / len(users)] * len(users))


def test_knapsack_is_exact_against_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(20):
        costs = rng.exponential(size=(3, 4))
        costs[rng.random(costs.shape) < 0.15] = np.inf
        uses = rng.integers(1, 6, size=4)
        cap = int(rng.integers(3, 15))
        total, picks = least_power(costs, uses, cap)
        feasible = [sum(costs[u, j] for u, j in enumerate(c))
                    for c in itertools.product(range(4), repeat=3) if uses[list(c)].sum() <= cap]
        assert total == pytest.approx(min(feasible, default=np.inf))
        if np.isfinite(total):
            assert uses[picks].sum() <= cap
            assert costs[np.arange(3), picks].sum() == pytest.approx(total)


def test_users_file_is_read_and_validated(tmp_path):
    good = {"total_power": "2", "noise_power": "1e-9", "total_channel_uses": 4096,
            "source_dim": 12288, "ratios": ["1/4", 0.125, "1 / 48"],
            "users": [{"name": "a", "gain_db": -80}, {"name": "b", "gain": 1e-8, "weight": 2}]}
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump(good))
    prob = AllocationProblem.load(path)
    assert prob.ratios == (1 / 48, 0.125, 0.25) and prob.total_power == 2.0
    assert prob.users[0].gain == pytest.approx(1e-8) and prob.users[1].weight == 2.0
    assert list(prob.channel_uses) == [256, 1536, 3072]

    user = {"name": "a", "gain": 1e-8}
    cases = [
        ({**good, "total_power": -1}, "total_power must be a positive number"),
        ({k: v for k, v in good.items() if k != "noise_power"}, "missing key 'noise_power'"),
        ({**good, "bandwidth": 3}, "unknown key 'bandwidth'; valid keys"),
        ({**good, "total_channel_uses": 10.5}, "total_channel_uses must be a positive integer"),
        ({**good, "ratios": ["1/0"]}, "ratios\\[0\\] must be a number or an 'a/b'"),
        ({**good, "ratios": []}, "ratios must be a non-empty list"),
        ({**good, "users": [{"name": "a"}]}, "users\\[0\\] needs exactly one of gain"),
        ({**good, "users": [{**user, "gain_db": -80}]}, "exactly one of gain"),
        ({**good, "users": [{**user, "weight": 0}]}, "users\\[0\\].weight must be"),
        ({**good, "users": [{**user, "power": 1}]}, "unknown key 'power'"),
        ({**good, "users": [user, user]}, "names must be unique"),
        ({**good, "users": "a"}, "users must be a non-empty list"),
    ]
    for data, message in cases:
        with pytest.raises(ConfigError, match=message) as err:
            AllocationProblem.from_dict(data)
        assert "\n" not in str(err.value)
    (tmp_path / "bad.yaml").write_text("users: [a, b\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        AllocationProblem.load(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        AllocationProblem.load(tmp_path / "none.yaml")


def test_a_budget_too_small_for_every_user_is_an_error():
    prob = problem([{"name": "a", "gain": 1e-8}, {"name": "b", "gain": 1e-8}], 300)
    with pytest.raises(ConfigError, match="cannot carry 2 users even at the smallest ratio"):
        allocate(MODEL, prob)


def test_allocation_never_leaves_the_fitted_snr_range():
    """A sum of exponentials fitted on [-15, 5] dB that explodes below it (as U3 can): the
    allocation keeps every user inside the fitted range instead of chasing the explosion."""
    fit = FittedFamily("U3", {"a1": 0.3, "b1": 0.02, "c1": 0.1, "a2": 1e-8, "b2": -0.6,
                              "c2": 0.0}, n_terms=2, snr_range=(-15.0, 5.0))
    model = SemanticLossModel(fit, "accuracy")
    assert model.predict(1 / 12, -60.0) > 1e6  # the extrapolation the solver must not use
    prob = problem([{"name": "near", "gain": 1e-8}, {"name": "far", "gain_db": -90}], 2048)
    result = allocate(model, prob)
    snrs = [u.snr_db for u in result.users]
    assert all(-15.0 - 1e-6 <= s for s in snrs)
    assert result.min_weighted <= float(np.max(model.predict(np.asarray(prob.ratios)[:, None],
                                                             np.linspace(-15, 5, 81)))) + 1e-9
