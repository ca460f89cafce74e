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
