"""The semantic-loss families: parameter/prediction recovery from synthetic grids, 1-D fits,
cross-validation, inverses, model files and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semjscc.errors import ConfigError, SemjsccError
from semjscc.semloss import (
    FAMILIES,
    FitError,
    FittedFamily,
    GroupFit,
    SemanticLossModel,
    assess,
    check_points,
    fit_document,
    fit_family,
    fit_metric,
    normalise,
)

RATIOS = np.array([1 / 4, 1 / 8, 1 / 12, 1 / 16, 1 / 24, 1 / 48])
SNRS = np.arange(-8.0, 8.5, 2.0)
NOISE = 0.003  # relative: a MAPE of about 0.24 %

TRUTH = {
    "U1": {"M_min": 0.1, "a0": 0.95, "a1": 0.5, "a2": 15.0, "b0": -6.0, "b1": -2.0,
           "kappa": 0.7},
    "U2": {"A": 0.9, "k": 0.4, "g0": -2.0, "alpha": 0.5, "beta": 12.0},
    "U3": {"a1": 0.95, "b1": 0.0, "c1": 0.05, "a2": -0.1, "b2": -0.15, "c2": -0.2},
    "U4": {"a0": 1.0, "a1": 0.05, "b0": 0.0, "b1": 0.0, "c0": -0.15, "c1": 0.02,
           "d0": -0.1, "d1": 0.01},
}


def truth(family: str) -> FittedFamily:
    return FittedFamily(family, TRUTH[family], n_terms=2 if family == "U3" else 1)


def grid(family: str, ratios: np.ndarray = RATIOS, noise: float = NOISE, seed: int = 1):
    cr, snr = (a.ravel() for a in np.meshgrid(ratios, SNRS, indexing="ij"))
    clean = truth(family).predict(cr, snr)
    rng = np.random.default_rng(seed)
    return cr, snr, clean * (1 + noise * rng.standard_normal(clean.size)), clean


def test_truths_are_plausible_qualities():
    for family in FAMILIES:
        *_, clean = grid(family)
        assert 0.02 < clean.min() and clean.max() < 1.0, family


@pytest.mark.parametrize("family", ["U1", "U2"])
def test_identifiable_families_recover_their_parameters(family):
    cr, snr, y, clean = grid(family)
    fit = fit_family(cr, snr, y, family, starts=6)
    for name, value in TRUTH[family].items():
        assert fit.params[name] == pytest.approx(value, rel=0.08, abs=0.05), name
    assert np.sqrt(np.mean((fit.predict(cr, snr) - clean) ** 2)) < 0.003


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_recovers_predictions_and_cv_mape_near_noise(family):
    cr, snr, y, clean = grid(family)
    a = assess(cr, snr, y, family, starts=6, max_terms=3)
    assert np.abs(a.fit.predict(cr, snr) / clean - 1).mean() < 2 * NOISE
    assert a.train["mape"] < 100 * NOISE
    assert a.cv_mape < 3 * 100 * NOISE
    assert a.train["r2"] > 0.999
    assert set(a.cv) == {"leave_one_snr_out", "leave_one_cr_out"}
    assert a.cv["leave_one_snr_out"]["n_folds"] == SNRS.size
    assert a.cv["leave_one_cr_out"]["n_folds"] == RATIOS.size


def test_u3_records_its_terms_curve_and_picks_a_small_n():
    cr, snr, y, _ = grid("U3")
    a = assess(cr, snr, y, "U3", starts=6, max_terms=3)
    curve = a.terms_curve
    assert [c["n_terms"] for c in curve] == [1, 2, 3]
    assert sum(c["chosen"] for c in curve) == 1
    chosen = next(c for c in curve if c["chosen"])
    assert chosen["n_terms"] == a.fit.n_terms == 2
    assert curve[0]["cv_mape"] > 5 * chosen["cv_mape"]
    assert set(a.fit.params) == {"a1", "b1", "c1", "a2", "b2", "c2"}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_one_d_fits_against_snr_alone(family):
    cr, snr, y, clean = grid(family, ratios=np.array([1 / 12]))
    a = assess(cr, snr, y, family, starts=6, max_terms=2)
    held = FAMILIES[family].collapsed(a.fit.n_terms)
    assert a.fit.fixed == held and all(a.fit.params[k] == v for k, v in held.items())
    assert np.abs(a.fit.predict(cr, snr) / clean - 1).max() < 4 * NOISE
    assert "skipped" in a.cv["leave_one_cr_out"] and "single R" in a.cv["leave_one_cr_out"][
        "skipped"]
    assert a.cv["leave_one_snr_out"]["mape"] < 3 * 100 * NOISE
    # constant in R: the model answers any R with the same curve
    assert np.allclose(a.fit.predict(1 / 4, snr), a.fit.predict(1 / 48, snr))


def test_fixed_floor_and_determinism():
    cr, snr, y, _ = grid("U1")
    one = fit_family(cr, snr, y, "U1", fixed={"M_min": 0.1}, starts=4, seed=3)
    two = fit_family(cr, snr, y, "U1", fixed={"M_min": 0.1}, starts=4, seed=3)
    assert one.params["M_min"] == 0.1 and one.fixed == {"M_min": 0.1}
    assert one.params == two.params


def test_fit_metric_ranks_by_cv_mape():
    cr, snr, y, _ = grid("U1")
    mf = fit_metric(cr, snr, y, ["U2", "U1", "U4"], starts=4)
    cv = [mf.assessments[f].cv_mape for f in mf.ranking]
    assert cv == sorted(cv) and mf.chosen == "U1"
    doc = mf.to_dict()
    assert doc["chosen"] == "U1" and [r["family"] for r in doc["ranking"]] == mf.ranking


def test_min_snr_and_min_cr_invert_predict():
    model = SemanticLossModel(truth("U1"), "accuracy", m_clean=0.97)
    targets = np.array([[0.3], [0.6], [0.7]])
    cr = np.array([1 / 4, 1 / 8, 1 / 16])
    snr = model.min_snr(cr, targets)
    assert snr.shape == (3, 3)
    np.testing.assert_allclose(model.predict(cr, snr), np.broadcast_to(targets, (3, 3)),
                               atol=1e-9)
    assert np.all(model.predict(cr, snr - 1e-3) < targets)
    ratios = model.min_cr(np.array([0.0, 4.0]), np.array([[0.5], [0.7]]))
    np.testing.assert_allclose(model.predict(ratios, np.array([0.0, 4.0])),
                               [[0.5, 0.5], [0.7, 0.7]], atol=1e-9)
    # M_max(R) < 0.95 everywhere: unreachable; the floor 0.1 is met at the lowest SNR searched
    assert np.isinf(model.min_snr(1 / 8, 0.95)) and np.isinf(model.min_cr(5.0, 0.99))
    assert model.min_snr(1 / 8, 0.05) == -60.0
    assert model.semantic_loss(1 / 8, 3.0) == pytest.approx(1 - model.predict(1 / 8, 3.0) / 0.97)


def test_model_file_round_trip_and_fit_document_selection(tmp_path):
    model = SemanticLossModel(truth("U1"), "psnr", m_clean=0.9, group={"channel": "awgn"})
    loaded = SemanticLossModel.load(model.save(tmp_path / "m.json"))
    assert loaded == model

    cr, snr, y, _ = grid("U1")
    quality, norm = normalise("accuracy", 100 * y)
    mf = fit_metric(cr, snr, quality, ["U1", "U2"], starts=3)
    doc = fit_document([GroupFit({"channel": "awgn"}, {"accuracy": (norm, mf)}),
                        GroupFit({"channel": "rayleigh"}, {"accuracy": (norm, mf)})], {})
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    chosen = SemanticLossModel.load(path)
    assert chosen.family == "U1" and chosen.metric == "accuracy"
    assert chosen.group == {"channel": "awgn"} and chosen.m_clean == 1.0
    other = SemanticLossModel.load(path, group="channel=rayleigh", family="U2")
    assert other.family == "U2" and other.group == {"channel": "rayleigh"}
    for kwargs, word in [({"metric": "ssim"}, "metrics: accuracy"),
                         ({"family": "U4"}, "fitted: U1, U2"),
                         ({"group": "channel=rician"}, "groups: channel=awgn; channel=rayleigh"),
                         ({"group": 5}, "out of range")]:
        with pytest.raises(FitError, match=word) as err:
            SemanticLossModel.load(path, **kwargs)
        assert "\n" not in str(err.value)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(FitError, match="neither a fit.json"):
        SemanticLossModel.load(tmp_path / "bad.json")


def test_normalisation_rules():
    m, norm = normalise("accuracy", [12.0, 95.0], clean_values=[97.0, 97.0])
    assert np.allclose(m, [0.12, 0.95]) and norm.kind == "percent"
    assert norm.m_clean == pytest.approx(0.97) and "accuracy_clean" in norm.m_clean_source
    assert "percent" in norm.notes[0]
    m, norm = normalise("precision_weighted", [0.5, 0.9], m_clean=0.93)
    assert np.allclose(m, [0.5, 0.9]) and norm.m_clean == 0.93
    m, norm = normalise("lpips", [0.25])
    assert m[0] == 0.75 and norm.m_clean == 1.0 and norm.m_clean_source.startswith("default 1")
    m, norm = normalise("psnr", [24.0], psnr_ref_db=40.0)
    assert m[0] == 0.6 and norm.psnr_ref_db == 40.0 and "40 dB" in norm.rule
    m, _ = normalise("ms_ssim", [0.8])
    assert m[0] == 0.8
    with pytest.raises(FitError, match="PSNR_ref"):
        normalise("psnr", [24.0], psnr_ref_db=0.0)


def test_bad_inputs_are_one_line_config_errors():
    cr, snr, y, _ = grid("U1")
    bad_y = y.copy()
    bad_y[[3, 7]] = np.nan
    cases = [
        (lambda: check_points(cr, snr, bad_y), "non-finite values at rows 3, 7"),
        (lambda: check_points(-cr, snr, y), "R <= 0|cr <= 0"),
        (lambda: check_points(cr[:5], snr, y), "same length"),
        (lambda: fit_family(cr[::9], snr[::9], y[::9], "U1"), "at least 7 points"),
        (lambda: fit_family(cr, snr, y, "U9"), "choose from U1, U2, U3, U4"),
        (lambda: fit_family(cr, snr, y, "U1", fixed={"floor": 0.1}), "no parameter floor"),
        (lambda: SemanticLossModel(truth("U1")).predict(0.0, 1.0), "R must be > 0"),
        (lambda: FittedFamily("U2", {"A": 1.0}), "parameters A, k, g0, alpha, beta"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError, match=message) as err:
            call()
        assert isinstance(err.value, SemjsccError) and "\n" not in str(err.value)
