"""Leak-free cross-validation of the semantic-loss fits: every fold is a fresh fit of the
points it keeps, from the full fit's seeded starts; the held-out predictions in fit.csv; the
bootstrap margin of the best family over the runner-up, and the report built on them."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from semjscc.evaluation.semloss_fit import FitOptions, fit_semloss
from semjscc.experiments.eo.report import _fits
from semjscc.semloss import FittedFamily, assess, family_margin, fit_family, held_out_errors
from semjscc.semloss.fit import _fit, _next_term, _seeded_fit

U1 = FittedFamily("U1", {"M_min": 0.1, "a0": 0.95, "a1": 0.5, "a2": 15.0, "b0": -6.0,
                         "b1": -2.0, "kappa": 0.7})
RATIOS = np.array([1 / 6, 1 / 12, 1 / 24])
SNRS = np.array([-6.0, -3.0, 0.0, 3.0, 6.0, 9.0, 12.0])
SCHEMES = {"leave_one_snr_out": 1, "leave_one_cr_out": 0}  # scheme -> column of (cr, snr)


def grid(ratios: np.ndarray = RATIOS, snrs: np.ndarray = SNRS, noise: float = 0.004,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cr, snr = (a.ravel() for a in np.meshgrid(ratios, snrs, indexing="ij"))
    rng = np.random.default_rng(seed)
    return cr, snr, U1.predict(cr, snr) * (1 + noise * rng.standard_normal(cr.size))


@pytest.mark.parametrize("family", ["U1", "U2"])
def test_every_fold_is_a_fresh_fit_without_its_group(family):
    cr, snr, y = grid()
    a = assess(cr, snr, y, family, starts=4, seed=2)
    for scheme, col in SCHEMES.items():
        key = (cr, snr)[col]
        for value in np.unique(key):
            held = key == value
            fresh = fit_family(cr[~held], snr[~held], y[~held], family, starts=4, seed=2)
            np.testing.assert_allclose(a.cv_predicted[scheme][held],
                                       fresh.predict(cr[held], snr[held]), rtol=1e-10,
                                       err_msg=f"{scheme} {value}")


def test_u3_folds_grow_their_own_terms():
    """U3's N-term fold starts from the same fold's N − 1 fit, as a fresh chain would."""
    cr, snr, y = grid()
    a = assess(cr, snr, y, "U3", starts=4, seed=1, max_terms=2)
    assert a.fit.n_terms == 2
    held = snr == 3.0
    one = _seeded_fit(cr[~held], snr[~held], y[~held], "U3", 1, None, 4, 1)
    two = _seeded_fit(cr[~held], snr[~held], y[~held], "U3", 2, None, 4, 1, [_next_term(one)])
    np.testing.assert_allclose(a.cv_predicted["leave_one_snr_out"][held],
                               two.predict(cr[held], snr[held]), rtol=1e-10)


def test_a_shifted_group_is_predicted_as_by_a_fit_that_never_saw_it():
    """The leaking case: one SNR group shifted up by 0.25. The fold that holds it out must
    predict it like a fit without it (near the unshifted truth), not like the full fit."""
    cr, snr, y = grid()
    held = snr == 9.0
    y[held] += 0.25
    a = assess(cr, snr, y, "U4", starts=20, seed=0)
    fold = a.cv_predicted["leave_one_snr_out"][held]
    fresh = fit_family(cr[~held], snr[~held], y[~held], "U4", starts=20, seed=0)
    np.testing.assert_allclose(fold, fresh.predict(cr[held], snr[held]), rtol=1e-10)
    truth = U1.predict(cr[held], snr[held])
    assert np.abs(fold - truth).max() < 0.05
    assert np.abs(fold - y[held]).min() > 0.2
    # the former warm start from the full fit's parameters is pulled towards the shift
    rng = np.random.default_rng(0)
    warm = _fit(cr[~held], snr[~held], y[~held], "U4", 1, None, rng, 0, init=[a.fit.theta],
                centre=False).predict(cr[held], snr[held])
    assert np.abs(warm - y[held]).mean() < np.abs(fold - y[held]).mean() - 0.1


def test_margin_bootstrap_interval():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.01, 0.05, size=(30, 2))
    same = family_margin([{"A": base, "B": base}], ["A", "B"], seed=3)
    assert same.difference == 0 and same.low == same.high == 0 and same.within_noise
    apart = family_margin([{"A": base, "B": base + 0.02}], ["A", "B"], seed=3)
    assert apart.difference == pytest.approx(2.0) and apart.low > 0 and not apart.within_noise
    noisy = {"A": base, "B": base + rng.normal(0, 0.02, size=base.shape)}
    one, two = (family_margin([noisy], ["A", "B"], seed=5) for _ in range(2))
    assert one == two and one.low < one.difference < one.high
    assert "bootstrap interval" in one.describe()
    assert family_margin([noisy], ["A"]) is None


def test_margin_equals_the_cv_mape_difference():
    cr, snr, y = grid()
    a, b = (assess(cr, snr, y, f, starts=3) for f in ("U1", "U2"))
    margin = family_margin([{f: held_out_errors(y, x.cv_predicted) for f, x in
                             (("U1", a), ("U2", b))}], ["U1", "U2"])
    assert margin.difference == pytest.approx(b.cv_mape - a.cv_mape, rel=1e-12)


def _rows(ratios: np.ndarray, snrs: np.ndarray) -> list[dict]:
    cr, snr, y = grid(ratios, snrs)
    return [{"method": "djscc", "channel": ch, "realized_cr": r, "snr_db": s,
             "accuracy": 100 * m, "accuracy_mismatched": m, "psnr": 48 * (0.3 + 0.6 * m)}
            for ch in ("awgn", "rayleigh") for r, s, m in zip(cr, snr, y)]


def _table(path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_fit_csv_holds_the_held_out_predictions_the_scores_come_from(tmp_path):
    options = FitOptions(metrics=["accuracy_mismatched", "psnr"], families=["U1", "U2"],
                         group_by=["channel"], starts=3)
    fit = fit_semloss(_rows(RATIOS, SNRS), options, tmp_path)
    table = _table(tmp_path / "fit.csv")
    assert list(table[0])[-2:] == ["cv_snr_predicted", "cv_cr_predicted"]
    assert len(table) == 2 * 2 * 2 * RATIOS.size * SNRS.size
    assert all(r["cv_snr_predicted"] and r["cv_cr_predicted"] for r in table)
    doc = json.loads((tmp_path / "fit.json").read_text())
    for g in doc["groups"]:
        for metric, entry in g["metrics"].items():
            for family, f in entry["fits"].items():
                here = [r for r in table if r["channel"] == g["group"]["channel"]
                        and r["metric"] == metric and r["family"] == family]
                m = np.array([float(r["measured"]) for r in here])
                cv = {c: np.array([float(r[c]) for r in here])
                      for c in ("cv_snr_predicted", "cv_cr_predicted")}
                pooled = 100 * np.mean(np.abs(np.concatenate([*cv.values()]) / np.tile(m, 2)
                                              - 1))
                assert pooled == pytest.approx(f["diagnostics"]["cv_mape_combined"], rel=1e-4)
            margin = entry["margin"]
            assert margin["best"] == entry["chosen"] and margin["resamples"] == 1000
            assert margin["difference"] == pytest.approx(
                entry["ranking"][1]["cv_mape"] - entry["ranking"][0]["cv_mape"])
    overall = doc["overall"]
    assert overall["sets"] == 4 and overall["margin"]["sets"] == 4
    assert [r["family"] for r in overall["ranking"]] == [overall["margin"]["best"],
                                                         overall["margin"]["runner_up"]]
    assert fit.groups[0].metrics["psnr"][1].margin is not None

    report = "\n".join(_fits(doc, ["mismatched"]))
    assert "`cv_snr_predicted` and `cv_cr_predicted`" in report and "| lead |" in report
    best = overall["margin"]["best"]
    assert f"{best} has the lowest CV MAPE" in report
    assert f"Its lead over the runner-up {overall['margin']['runner_up']} is" in report
    assert "bootstrap interval" in report


def test_unfittable_folds_leave_empty_cells_and_a_note(tmp_path):
    """2 R × 4 SNRs: U1 (7 parameters) cannot be refitted on 6 points, U2 (5) can."""
    options = FitOptions(metrics=["accuracy"], families=["U1", "U2"], starts=2)
    rows = [r for r in _rows(RATIOS[:2], SNRS[2:6]) if r["channel"] == "awgn"]
    fit = fit_semloss(rows, options, tmp_path)
    table = _table(tmp_path / "fit.csv")
    u1 = [r for r in table if r["family"] == "U1"]
    u2 = [r for r in table if r["family"] == "U2"]
    assert len(u1) == len(u2) == 8
    assert all(r["cv_snr_predicted"] == "" for r in u1)
    assert all(r["cv_snr_predicted"] and r["cv_cr_predicted"] for r in u2)
    notes = fit.groups[0].notes
    assert any("U1 leave-one-SNR-out" in n and "cv_snr_predicted is empty" in n
               and "needs at least 7 points" in n for n in notes), notes
    doc = json.loads((tmp_path / "fit.json").read_text())
    assert doc["groups"][0]["metrics"]["accuracy"]["chosen"] == "U2"
