"""Config loading, presets, overrides and their errors."""

import pytest

from semjscc.config import (
    Config,
    ConfigError,
    LinkConfig,
    TrainConfig,
    list_presets,
    load_config,
    save_config,
)


def test_presets_load_and_paper_settings():
    assert {"tiny/df", "paper/df"} <= set(list_presets())
    paper = load_config("paper/df")
    assert paper.data.image_size == 256
    assert paper.model.num_features == 256 and paper.model.bandwidth_ratio == "1/3"
    assert paper.sweep.snr_db == [-5.0, -10.0, -15.0]
    assert paper.sweep.relays == [0, 1, 2, 3]
    assert [paper.train.batch_size_for(r) for r in range(4)] == [20, 10, 8, 6]
    assert paper.train.lr == 1e-4 and paper.train.lr_decay == 0.95


def test_overrides_and_types(tmp_path):
    cfg = load_config("tiny/df", ["train.epochs=3", "link.snr_db=[0, 5]", "link.relays=1",
                                  "train.lr=3e-3"])
    assert cfg.train.epochs == 3 and cfg.train.lr == 0.003
    assert cfg.link.hop_snrs_db() == [0.0, 5.0]
    path = tmp_path / "c.yaml"
    save_config(cfg, path)
    assert load_config(path) == cfg


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="train.epoch'.*valid keys"):
        load_config("tiny/df", ["train.epoch=3"])
    with pytest.raises(ConfigError, match="unknown config key 'modle'"):
        load_config(None, ["modle.num_features=3"])


def test_bad_values_and_files(tmp_path):
    with pytest.raises(ConfigError, match="train.epochs must be an integer"):
        load_config("tiny/df", ["train.epochs=abc"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["train.epochs"])


def test_per_hop_snr_and_batch_size_errors():
    with pytest.raises(ConfigError, match="one per hop"):
        LinkConfig(relays=2, snr_db=[0, 1]).hop_snrs_db()
    with pytest.raises(ConfigError, match="relays=4"):
        TrainConfig(batch_size=[1, 2]).batch_size_for(4)
    assert Config().link.hop_snrs_db(2) == [-5.0, -5.0, -5.0]


def test_eurosat_presets_list_the_authors_points_in_our_convention():
    # the EO authors' nominal SNR is 3.01 dB below ours (noise P/(2 SNR) per real entry)
    from semjscc.experiments.eo.analysis import SNR_OFFSET_DB
    from semjscc.experiments.eo.plan import snr_columns

    assert SNR_OFFSET_DB == 3.01
    awgn = load_config("eo-awgn-2025/reproduce").eo
    assert awgn.snr_db == [22.01, 16.01, 10.01, 7.01, 4.01]  # theirs 19, 13, 7, 4, 1
    assert [snr_columns(s)["snr_db_authors"] for s in awgn.snr_db] == [19, 13, 7, 4, 1]
    assert snr_columns(22.01) == {"snr_db": 22.01, "snr_db_authors": 19.0}
    rician = load_config("eo-rician-2026/reproduce").eo
    theirs = [snr_columns(s)["snr_db_authors"] for s in rician.snr_db]
    assert theirs == [8, 4, 0, -1, -2, -3, -4, -5, -6, -7, -8]
    # the allocation users move with the grid: at equal power their SNR is their gain
    for eo, theirs in ((awgn, [16, 10, 6, 3]), (rician, [6, 2, -2, -6])):
        assert [round(u["gain_db"] - SNR_OFFSET_DB, 2) for u in eo.users["users"]] == theirs
        assert eo.users["total_power"] / len(eo.users["users"]) == eo.users["noise_power"]
    # eo-tiny's grid is our own design and stays as it is
    assert load_config("eo-tiny/reproduce").eo.snr_db == [-15.0, -10.0, -5.0, 0.0, 5.0]


def test_tiny_df_trains_with_the_recipe_of_the_tiny_reproduction(tmp_path):
    # `semjscc train --config tiny/df` (the README's example) and the tiny preset's r = 0
    # `mse` model share one recipe: optimiser, lr, schedule, SNR range, images, batch size
    # (a pair trained from scratch over relays decodes no image at its relays, so the
    # standalone config trains the r = 0 pair, which DF then reuses on every hop)
    from semjscc.experiments.multihop.plan import build_plan

    df = load_config("tiny/df")
    preset = load_config("tiny/reproduce")
    plan = build_plan(preset, tmp_path, lpips_usable=False)
    (base,) = plan.bases
    mse = next(r for r in plan.df_runs if r.method == "mse" and r.relays == 0)
    assert mse.cfg.train.init_from == str(base.checkpoint)  # r = 0: base, then fine-tune
    t = df.train
    recipe = ("schedule", "weight_decay", "grad_clip", "fused_adam", "precision", "loss",
              "epoch_images")
    for run in (base, mse):
        assert {k: getattr(run.cfg.train, k) for k in recipe} == {k: getattr(t, k) for k in recipe}
        assert run.cfg.train.snr_db_range == t.snr_db_range == [-15.0, 25.0]
        assert run.cfg.train.batch_size_for(0) == t.batch_size_for(df.link.relays) == 32
        assert (run.cfg.data, run.cfg.model, run.cfg.seed) == (df.data, df.model, df.seed)
        assert (run.relays, run.cfg.link.shared_codec) == (df.link.relays, True) == (0, True)
    assert t.schedule == "onecycle" and t.epoch_images is None
    assert base.cfg.train.lr == t.lr == 3e-3
    # the same images: 10 epochs of all 6,000, 9 in the shared base and 1 fine-tuning
    assert base.cfg.train.epochs + mse.cfg.train.epochs == t.epochs == 10
    assert df.data.num_images["train"] == 6000
