"""The bad-input corpus: every case is a command a user could type with something wrong in
it. Each must exit 2 with exactly one error line on stderr, no traceback, and write or
overwrite nothing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import refused, sets
from PIL import Image

from semjscc.cli import main
from semjscc.config import load_config, to_dict

MICRO = [
    "data.image_size=16",
    "data.num_images={train: 32, val: 16, test: 16, db: 32}",
    "model.num_features=8",
    "model.bandwidth_ratio=1/6",
    "train.epochs=1",
    "train.batch_size=16",
    "train.eval_batch_size=16",
    "train.device=cpu",
    "link.relays=0",
]


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (8-bit RGB) but whose pixel data is
    missing: what a decompression-bomb check sees first."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real files the cases point at: a trained micro model, a DHD, codebooks, results,
    images, configs and checkpoints broken in every way a file can be."""
    root = tmp_path_factory.mktemp("world")
    w: dict[str, Path] = {"root": root}
    w["run"] = root / "run"
    assert main(["train", "--config", "tiny/df", *sets(MICRO), "--out", str(w["run"])]) == 0
    w["ckpt"] = w["run"] / "best.pt"
    w["dhd_run"] = root / "dhd"
    assert main(["train-dhd", "--config", "tiny/dhd", *sets(MICRO + [
        "dhd.width=8", "dhd.num_bits=8", "dhd.epochs=1", "dhd.batch_size=16"]),
        "--out", str(w["dhd_run"])]) == 0
    w["dhd"] = w["dhd_run"] / "best.pt"
    w["books"] = root / "books"
    assert main(["fit-codebook", "--checkpoint", str(w["ckpt"]), "--nq-b", "2:1",
                 "--out", str(w["books"]), "--max-blocks", "500"]) == 0
    w["results"] = root / "results.csv"
    w["results"].write_text("method,relays,snr_db,psnr\nmse,0,0,20.5\nmse,1,0,18.0\n")
    w["image"] = root / "in.png"
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(w["image"])
    w["broken_image"] = root / "broken.jpg"
    w["broken_image"].write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    w["huge_image"] = png_header(root / "huge.png", 10_000, 10_000)
    w["empty"] = root / "empty.pt"
    w["empty"].write_bytes(b"")
    w["text"] = root / "notes.txt"
    w["text"].write_text("hello\n")
    w["binary"] = root / "blob.csv"
    w["binary"].write_bytes(bytes(range(256)) * 8)
    w["latin1"] = root / "latin1.csv"
    w["latin1"].write_bytes("method,psnr\nm\xe9thode,1\n".encode("latin-1"))
    w["ragged"] = root / "ragged.csv"
    w["ragged"].write_text("method,relays,psnr\nmse,0\nmse,1,2,3,4\n")
    w["words"] = root / "words.csv"
    w["words"].write_text("method,relays,psnr\nmse,zero,high\n")
    w["header_only"] = root / "header.csv"
    w["header_only"].write_text("method,relays,psnr\n")
    w["dir"] = root / "adir"
    w["dir"].mkdir()
    w["file"] = root / "afile"
    w["file"].write_text("x")
    state = torch.load(w["ckpt"], weights_only=True)
    for name, change in {
        "str_version": lambda s: {**s, "format_version": "2"},
        "no_config": lambda s: {k: v for k, v in s.items() if k != "config"},
        "no_model": lambda s: {k: v for k, v in s.items() if k != "model"},
        "future": lambda s: {**s, "format_version": 99},
        "old": lambda s: {**s, "format_version": 1},
        "bad_kind": lambda s: {**s, "kind": "jpeg"},
        "shapes": lambda s: {**s, "model": {k: v[..., :1] if v.dim() else v
                                            for k, v in s["model"].items()}},
        "list": lambda s: [1, 2, 3],
    }.items():
        w[name] = root / f"{name}.pt"
        torch.save(change(state), w[name])
    w["truncated"] = root / "truncated.pt"
    data = w["ckpt"].read_bytes()
    w["truncated"].write_bytes(data[: len(data) // 3])
    w["pickle"] = root / "pickle.pt"
    torch.save(torch.nn.Linear(2, 2), w["pickle"])  # a pickled module, refused by safe loading
    w["other_size"] = root / "other" / "best.pt"
    assert main(["train", "--config", "tiny/df", *sets(MICRO + ["model.num_features=12"]),
                 "--out", str(w["other_size"].parent)]) == 0
    cfg = load_config("tiny/df", MICRO)
    w["old_config"] = root / "old.yaml"
    w["old_config"].write_text("extends: tiny/df\ntrain:\n  method: mse+dhd\n")
    w["bad_yaml"] = root / "bad.yaml"
    w["bad_yaml"].write_text("train: [unclosed\n")
    w["python_yaml"] = root / "python.yaml"
    w["python_yaml"].write_text("name: !!python/object/apply:os.system ['echo hi']\n")
    w["list_yaml"] = root / "list.yaml"
    w["list_yaml"].write_text("- a\n- b\n")
    w["users_bad"] = root / "users.yaml"
    w["users_bad"].write_text("total_power: -1\nusers: []\n")
    w["cfg_dict"] = root / "cfg.yaml"
    w["cfg_dict"].write_text(str(to_dict(cfg)).replace("'", '"').replace("None", "null")
                             .replace("True", "true").replace("False", "false"))
    return w


def case(*argv: object, expect: str) -> tuple[list[str], str]:
    return [str(a) for a in argv], expect


def T(*argv: object) -> list[object]:
    """``train`` with the micro settings (the out directory is per case)."""
    return ["train", "--config", "tiny/df", *sets(MICRO), *argv]


# (argv with {placeholders} for world files, a piece of the expected error line)
CASES: list[tuple[list[object], str]] = [
    # ------------------------------------------------------------ configuration
    (T("--set", "model.num_featres=3", "--out", "{new}"), "unknown config key"),
    (T("--set", "model.num_features=0", "--out", "{new}"), "model.num_features=0"),
    (T("--set", "model.num_features=-4", "--out", "{new}"), "model.num_features"),
    (T("--set", "model.bandwidth_ratio=1/5", "--out", "{new}"), "even integer"),
    (T("--set", "model.bandwidth_ratio=2", "--out", "{new}"), "compression ratio"),
    (T("--set", "model.bandwidth_ratio=abc", "--out", "{new}"), "not a ratio"),
    (T("--set", "model.name=resnet", "--out", "{new}"), "unknown model"),
    (T("--set", "train.batch_size=0", "--out", "{new}"), "train.batch_size=0"),
    (T("--set", "train.batch_size=[16, 0]", "--out", "{new}"), "train.batch_size"),
    (T("--set", "train.lr=-1", "--out", "{new}"), "train.lr"),
    (T("--set", "train.lr=0", "--out", "{new}"), "train.lr"),
    (T("--set", "train.lr=.inf", "--out", "{new}"), "not a finite number"),
    (T("--set", "train.epochs=-1", "--out", "{new}"), "train.epochs"),
    (T("--set", "train.epochs=0", "--out", "{new}"), "train.epochs"),
    (T("--set", "train.epochs=1.5", "--out", "{new}"), "must be an integer"),
    (T("--set", "train.snr_db_range=[.nan, .nan]", "--out", "{new}"), "not a finite number"),
    (T("--set", "train.snr_db_range=[10, -10]", "--out", "{new}"), "low <= high"),
    (T("--set", "train.snr_db_range=[1, 2, 3]", "--out", "{new}"), "low <= high"),
    (T("--set", "train.lr_decay=0", "--out", "{new}"), "train.lr_decay"),
    (T("--set", "train.lr_decay=1.5", "--out", "{new}"), "train.lr_decay"),
    (T("--set", "train.weight_decay=-0.1", "--out", "{new}"), "train.weight_decay"),
    (T("--set", "train.schedule=cosine", "--out", "{new}"), "train.schedule"),
    (T("--set", "train.method=mse+dhd", "--out", "{new}"), "train.loss"),
    (T("--set", "train.semantic_weight=0.1", "--out", "{new}"), "is gone"),
    (T("--set", "train.dhd_checkpoint=x.pt", "--out", "{new}"), "dhd.checkpoint"),
    (T("--set", "train.loss={mse: -1}", "--out", "{new}"), "finite number >= 0"),
    (T("--set", "train.loss={msee: 1}", "--out", "{new}"), "unknown loss term"),
    (T("--set", "train.loss={mse: 0}", "--out", "{new}"), "no term with a positive weight"),
    (T("--set", "train.loss={mse: {weight: 1, foo: 2}}", "--out", "{new}"), "has no option foo"),
    (T("--set", "train.loss={mse: 1, dhd: 0.06}", "--out", "{new}"), "needs a trained DHD"),
    (T("--set", "train.loss=5", "--out", "{new}"), "must be a mapping"),
    (T("--set", "train.init_from={other_size}", "--out", "{new}"), "other sizes"),
    (T("--set", "train.init_from={dhd}", "--out", "{new}"), "'dhd' model"),
    (T("--set", "train.init_from={missing}", "--out", "{new}"), "does not exist"),
    (T("--set", "link.relays=-1", "--out", "{new}"), "link.relays"),
    (T("--set", "link.relays=100", "--out", "{new}"), "at most 16"),
    (T("--set", "link.snr_db=.nan", "--out", "{new}"), "not a finite number"),
    (T("--set", "link.snr_db=[0, 1, 2]", "--out", "{new}"), "one per hop"),
    (T("--set", "link.channel={name: ricean}", "--out", "{new}"), "unknown channel"),
    (T("--set", "link.channel={name: rician, k: 3}", "--out", "{new}"), "has no option k"),
    (T("--set", "link.channel={name: rician, equalization: perfect}", "--out", "{new}"),
     "equalization"),
    (T("--set", "link.channel={name: rician, k_factor: -3}", "--out", "{new}"), "k_factor"),
    (T("--set", "link.protocol=qf", "--out", "{new}"), "is gone"),
    (T("--set", "data.image_size=0", "--out", "{new}"), "data.image_size"),
    (T("--set", "data.kind=nuswide", "--out", "{new}"), "unknown dataset kind"),
    (T("--set", "data.kind=list", "--set", "data.root={missing}", "--out", "{new}"),
     "data.lists is empty"),
    (T("--set", "data.kind=folder", "--set", "data.root={dir}", "--out", "{new}"),
     "no class sub-folders"),
    (T("--set", "data.kind=cifar10", "--set", "data.root={missing}", "--out", "{new}"),
     "cifar-10-python.tar.gz"),
    (T("--set", "data.kind=cifar10", "--set", "data.root={dir}", "--out", "{new}"),
     "lacks"),
    (["reproduce", "--preset", "importance-tiny", "--out", "{new}", "--set",
      "importance.normalization=l2"], "importance.normalization"),
    (["reproduce", "--preset", "importance-tiny", "--out", "{new}", "--set",
      "importance.floor=1.5"], "importance.floor"),
    (["reproduce", "--preset", "eo-tiny", "--out", "{new}", "--set", "eo.ratios=['1/100']"],
     "1/48"),
    (T("--set", "data.kind=eurosat", "--set", "data.root={missing}", "--out", "{new}"),
     "EuroSAT"),
    (T("--set", "data.val_fraction=1.5", "--out", "{new}"), "data.val_fraction"),
    (T("--set", "data.num_images={train: 0}", "--out", "{new}"), "data.num_images"),
    (T("--set", "data.on_bad_image=ignore", "--out", "{new}"), "on_bad_image"),
    (T("--set", "data.num_classes=21", "--out", "{new}"), "data.num_classes=21"),
    (T("--set", "data.num_workers=-1", "--out", "{new}"), "data.num_workers"),
    (T("--set", "nonsense", "--out", "{new}"), "key=value"),
    (T("--set", "=3", "--out", "{new}"), "empty key"),
    (T("--set", "train=3", "--out", "{new}"), "must be a mapping"),
    (T("--set", "train.epochs.x=3", "--out", "{new}"), "not a section"),
    (["train", "--config", "{missing}", "--out", "{new}"], "not found"),
    (["train", "--config", "{bad_yaml}", "--out", "{new}"], "not valid YAML"),
    (["train", "--config", "{python_yaml}", "--out", "{new}"], "not valid YAML"),
    (["train", "--config", "{list_yaml}", "--out", "{new}"], "must be a mapping"),
    (["train", "--config", "{old_config}", "--out", "{new}"], "train.loss"),
    (["info", "--config", "tiny/df", "--set", "dhd.top_k=0"], "dhd.top_k"),
    (["info", "--config", "tiny/df", "--set", "dhd.crop_scale=[0.5]"], "dhd.crop_scale"),
    (["info", "--config", "tiny/df", "--set", "task.gamma=0"], "task.gamma"),
    (["info", "--config", "tiny/df", "--set", "eo.ratios=['1/0']"], "not a ratio"),
    (["info", "--config", "tiny/df", "--set", "sweep.relays=[0, -2]"], "sweep.relays"),
    # ------------------------------------------------------------ output paths
    (T("--out", "{file}"), "existing file"),
    (T("--out", "{file}/sub"), "is a file"),
    (T("--out", "{run}"), "already holds a run"),
    (T("--out", "{new}", "--resume"), "nothing to resume"),
    (T("--set", "train.lr=0.5", "--out", "{run}", "--resume"), "changed configuration"),
    (["eval", "--checkpoint", "{ckpt}", "--out", "{dir}"], "must end in .csv"),
    (["eval", "--checkpoint", "{ckpt}", "--out", "{dir}/x.txt"], "must end in .csv"),
    (["eval", "--checkpoint", "{ckpt}", "--out", "{file}/r.csv"], "is a file"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{file}"], "existing file"),
    (["plot", "{results}", "--x", "relays", "--y", "psnr", "--out", "{dir}"], "must end in"),
    (["plot", "{results}", "--x", "relays", "--y", "psnr", "--out", "{new}.bmp"],
     "must end in .png, .pdf, .svg"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--out", "{file}"], "existing file"),
    (["authenticate", "--dhd", "{dhd}", "--checkpoint", "{ckpt}", "--out", "{file}"],
     "existing file"),
    (["reproduce", "--preset", "tiny", "--out", "{file}"], "existing file"),
    (["train-dhd", "--config", "tiny/dhd", "--out", "{file}"], "existing file"),
    (["train-task", "--config", "tiny/df", "--out", "{file}"], "existing file"),
    (["eval-task", "--checkpoint", "{ckpt}", "--out", "{new}.txt"], "must end in .json, .csv"),
    # ------------------------------------------------------------ checkpoints
    (["eval", "--checkpoint", "{missing}", "--out", "{new}.csv"], "does not exist"),
    (["eval", "--checkpoint", "{dir}", "--out", "{new}.csv"], "is a directory"),
    (["eval", "--checkpoint", "{empty}", "--out", "{new}.csv"], "cannot be read"),
    (["eval", "--checkpoint", "{text}", "--out", "{new}.csv"], "cannot be read"),
    (["eval", "--checkpoint", "{truncated}", "--out", "{new}.csv"], "truncated"),
    (["eval", "--checkpoint", "{pickle}", "--out", "{new}.csv"], "cannot be read"),
    (["eval", "--checkpoint", "{str_version}", "--out", "{new}.csv"], "not an integer"),
    (["eval", "--checkpoint", "{no_config}", "--out", "{new}.csv"], "no config section"),
    (["eval", "--checkpoint", "{no_model}", "--out", "{new}.csv"], "state_dict of tensors"),
    (["eval", "--checkpoint", "{future}", "--out", "{new}.csv"], "upgrade semjscc"),
    (["eval", "--checkpoint", "{old}", "--out", "{new}.csv"], "older semjscc"),
    (["eval", "--checkpoint", "{bad_kind}", "--out", "{new}.csv"], "kind 'jpeg'"),
    (["eval", "--checkpoint", "{shapes}", "--out", "{new}.csv"], "do not fit"),
    (["eval", "--checkpoint", "{list}", "--out", "{new}.csv"], "not a semjscc checkpoint"),
    (["eval", "--checkpoint", "{dhd}", "--out", "{new}.csv"], "'dhd' model"),
    (["eval", "--checkpoint", "{ckpt}", "--dhd", "{ckpt}", "--out", "{new}.csv"],
     "'deepjscc' model"),
    (["eval-dhd", "--checkpoint", "{ckpt}"], "'deepjscc' model"),
    (["eval-task", "--checkpoint", "{ckpt}"], "'deepjscc' model"),
    (["transmit", "{image}", "--checkpoint", "{truncated}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "truncated"),
    (["fit-codebook", "--checkpoint", "{dhd}", "--out", "{new}"], "'dhd' model"),
    (["authenticate", "--dhd", "{ckpt}", "--checkpoint", "{ckpt}", "--out", "{new}"],
     "'deepjscc' model"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.backbone=resnet18"]),
      "--out", "{new}"], "has no option width"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.backbone=resnet18", "dhd.width=null",
                                                          "dhd.pretrained={pickle}"]),
      "--out", "{new}"], "safe loading"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.backbone=resnet18", "dhd.width=null",
                                                          "dhd.pretrained={text}"]),
      "--out", "{new}"], "cannot read weights file"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.backbone=resnet18", "dhd.width=null",
                                                          "dhd.pretrained={missing}"]),
      "--out", "{new}"], "not found"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.backbone=resnet-tiny",
                                                          "dhd.pretrained=imagenet"]),
      "--out", "{new}"], "no ImageNet weights"),
    (["train-dhd", "--config", "tiny/dhd", *sets(MICRO + ["dhd.batch_size=4096"]),
      "--out", "{new}"], "lower dhd.batch_size"),
    # ------------------------------------------------------------ values on the command line
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "nan", "--out", "{new}.csv"], "not finite"),
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "inf", "--out", "{new}.csv"], "not finite"),
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "-inf", "--out", "{new}.csv"],
     "not finite"),
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "abc", "--out", "{new}.csv"],
     "not a number"),
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "", "--out", "{new}.csv"], "SNRs in dB"),
    (["eval", "--checkpoint", "{ckpt}", "--snr-db", "1,,2", "--out", "{new}.csv"],
     "SNRs in dB"),
    (["eval", "--checkpoint", "{ckpt}", "--relays", "-1", "--out", "{new}.csv"], "outside"),
    (["eval", "--checkpoint", "{ckpt}", "--relays", "100", "--out", "{new}.csv"], "outside"),
    (["eval", "--checkpoint", "{ckpt}", "--relays", "1.5", "--out", "{new}.csv"],
     "whole number"),
    (["eval", "--checkpoint", "{ckpt}", "--batch-size", "0", "--out", "{new}.csv"], ">= 1"),
    (["eval", "--checkpoint", "{ckpt}", "--batch-size", "-3", "--out", "{new}.csv"], ">= 1"),
    (["eval", "--checkpoint", "{ckpt}", "--device", "cuda", "--out", "{new}.csv"],
     "no CUDA GPU"),
    (["eval", "--checkpoint", "{ckpt}", "--device", "cuda:3", "--out", "{new}.csv"],
     "no CUDA GPU"),
    (["eval", "--checkpoint", "{ckpt}", "--device", "bogus", "--out", "{new}.csv"],
     "unknown device"),
    (["eval", "--checkpoint", "{ckpt}", "--device", "mps", "--out", "{new}.csv"],
     "not supported"),
    (["eval", "--checkpoint", "{ckpt}", "--protocol", "qf", "--out", "{new}.csv"],
     "needs --codebooks"),
    (["eval", "--checkpoint", "{ckpt}", "--protocol", "af", "--out", "{new}.csv"],
     "invalid choice"),
    (["eval", "--checkpoint", "{ckpt}", "--protocol", "qf", "--codebooks", "{dir}",
      "--out", "{new}.csv"], "no codebooks"),
    (["eval", "--checkpoint", "{other_size}", "--protocol", "qf", "--codebooks", "{books}",
      "--out", "{new}.csv"], "was fitted for"),
    (["eval", "--checkpoint", "{ckpt}", "--set", "data.root", "--out", "{new}.csv"],
     "key=value"),
    (["eval", "--checkpoint", "{ckpt}", "--set", "link.channel={name: x}", "--out",
      "{new}.csv"], "unknown channel"),
    (["eval", "--out", "{new}.csv"], "required"),
    (["eval", "--checkpoint", "{ckpt}", "--frobnicate", "--out", "{new}.csv"],
     "unrecognized arguments"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "nan", "--relays", "0",
      "--out", "{new}"], "not finite"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0,5", "--relays", "0",
      "--out", "{new}"], "one SNR"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "-1",
      "--out", "{new}"], "outside"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0,1",
      "--out", "{new}"], "one relay count"),
    (["transmit", "{broken_image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays",
      "0", "--out", "{new}"], "cannot read image"),
    (["transmit", "{text}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "cannot read image"),
    (["transmit", "{huge_image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "above the limit of 50 MP"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--max-pixels", "0", "--out", "{new}"], ">= 1"),
    (["transmit", "{image}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--max-pixels", "20", "--out", "{new}"], "above the limit"),
    (["transmit", "{missing}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "does not exist"),
    (["transmit", "{dir}", "--checkpoint", "{ckpt}", "--snr-db", "0", "--relays", "0",
      "--out", "{new}"], "is a directory"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "2:nan", "--out", "{new}"],
     "positive finite"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "", "--out", "{new}"], "got nothing"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "4:0.3", "--out", "{new}"],
     "whole number"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "x", "--out", "{new}"], "N_Q:b"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "2:-1", "--out", "{new}"],
     "positive finite"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "0:2", "--out", "{new}"],
     "whole number"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--nq-b", "2:8", "--out", "{new}"],
     "blocks to fit"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--max-blocks", "0", "--out", "{new}"], ">= 1"),
    (["fit-codebook", "--checkpoint", "{ckpt}", "--snr-db", "inf", "--out", "{new}"],
     "not finite"),
    (["eval-dhd", "--checkpoint", "{dhd}", "--top-k", "0"], ">= 1"),
    (["eval-dhd", "--checkpoint", "{dhd}", "--top-k", "-1"], ">= 1"),
    (["eval-dhd", "--checkpoint", "{dhd}", "--set", "data.kind=bogus"], "unknown dataset"),
    (["authenticate", "--dhd", "{dhd}", "--checkpoint", "{ckpt}", "--snr-db", "nan",
      "--out", "{new}"], "not finite"),
    (["authenticate", "--dhd", "{missing}", "--checkpoint", "{ckpt}", "--out", "{new}"],
     "does not exist"),
    (["bench", "--configs", "tiny/dff"], "not found"),
    (["bench", "--repeats", "0"], ">= 1"),
    (["bench", "--size", "-32"], ">= 1"),
    (["bench", "--device", "cuda"], "no CUDA GPU"),
    (["bench", "--qf", "2:nan"], "positive finite"),
    (["info", "--config", "tiny/nope"], "not found"),
    (["info"], "required"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["reproduce", "--preset", "huge", "--out", "{new}"], "not found"),
    (["reproduce", "--preset", "paper", "--out", "{new}", "--set", "data.root={missing}"],
     "reproduce cannot start"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--device", "cuda"], "no CUDA GPU"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "sweep.relays=[1, 2]"],
     "must include 0"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "sweep.separation=[bpg]"],
     "unknown codec 'bpg'"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--shard", "3/2"], "in 1..n"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--shard", "0/2"], "in 1..n"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--shard", "x"], "i/n"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--executor", "bogus"],
     "unknown executor 'bogus'"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--address", "1.2.3.4:6379"],
     "--executor ray"),
    (["bench", "--peer", "bogus"], "bogus"),
    (["bench", "--peer-cases", "1:2:3"], "N:M:S:B"),
    (["bench", "--ddp", "0"], ">= 1"),
    (["bench", "--set", "train.precision=fp8"], "train.precision"),
    (["reproduce", "--preset", "tiny", "--out", "{new}", "--set", "experiment=nope"],
     "unknown experiment"),
    (["train-task", "--config", "tiny/df", *sets(MICRO + ["task.batch_size=16", "task.model=vgg"]), "--out",
      "{new}"], "unknown classifier"),
    (["train-task", "--config", "tiny/df", *sets(MICRO + ["task.batch_size=16", "task.optimizer=lion"]), "--out",
      "{new}"], "task.optimizer"),
    (["train-task", "--config", "tiny/df", *sets(MICRO + ["task.batch_size=16", "task.model=efficientvit_m2",
                                                           "task.pretrained=imagenet"]),
      "--out", "{new}"], "efficientvit"),
    # ------------------------------------------------------------ results files
    (["plot", "{missing}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"],
     "does not exist"),
    (["plot", "{dir}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"], "is a directory"),
    (["plot", "{binary}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"], "CSV"),
    (["plot", "{latin1}", "--x", "method", "--y", "psnr", "--out", "{new}.png"], "UTF-8"),
    (["plot", "{ragged}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"], "line 2"),
    (["plot", "{words}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"], "not numbers"),
    (["plot", "{header_only}", "--x", "relays", "--y", "psnr", "--out", "{new}.png"],
     "no rows"),
    (["plot", "{results}", "--x", "relays", "--y", "lpips", "--out", "{new}.png"],
     "'lpips' is not in"),
    (["plot", "{results}", "--x", "relay", "--y", "psnr", "--out", "{new}.png"],
     "'relay' is not in"),
    (["plot", "{results}", "--x", "relays", "--y", "psnr", "--where", "garbage", "--out",
      "{new}.png"], "COL=VALUE"),
    (["plot", "{results}", "--x", "relays", "--y", "psnr", "--where", "method=jpeg", "--out",
      "{new}.png"], "no rows match"),
    (["plot", "{results}", "--x", "relays", "--y", "", "--out", "{new}.png"], "--y"),
    (["fit-semloss", "{missing}", "--metric", "psnr", "--out", "{new}"], "does not exist"),
    (["fit-semloss", "{results}", "--metric", "psnr", "--out", "{new}"], "realized_cr"),
    (["fit-semloss", "{binary}", "--metric", "psnr", "--out", "{new}"], "CSV"),
    (["allocate", "--model", "{missing}", "--users", "{users_bad}"], "does not exist"),
    (["allocate", "--model", "{results}", "--users", "{users_bad}"], "fit.json"),
]


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 120


@pytest.mark.parametrize("index", range(len(CASES)))
def test_bad_input_is_one_clean_line(index: int, world: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv, expect = CASES[index]
    new = tmp_path / "new"
    error, _ = refused(argv, world, new, capsys)
    assert expect in error, (expect, error)
    assert not new.exists() or not any(new.rglob("*.pt"))


def test_foreign_pickle_checkpoint_is_one_clean_line(tmp_path: Path, capsys) -> None:
    """A plain Python pickle (not a torch file): safe loading refuses it, and the error names
    why in one line without torch's advice to turn safe loading off, and without warnings."""
    import pickle
    import warnings

    path = tmp_path / "foreign.pt"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["eval", "--checkpoint", str(path), "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"checkpoint {path} cannot be read (safe loading (weights_only=True) refuses it: " \
           "Unsupported operand" in err
    assert "weights_only` set to `False`" not in err and not (tmp_path / "r.csv").exists()
