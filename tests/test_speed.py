"""Speed and memory switches (bf16 autocast, torch.compile, channels-last, fused Adam,
gradient checkpointing) on CPU, and the peer benchmark against kaira."""

import csv
import math
import sys

import pytest
import torch

from semjscc.channels import AWGN
from semjscc.checkpoint import load_checkpoint
from semjscc.cli import main
from semjscc.config import load_config
from semjscc.models import MultiHopDF, Yilmaz2023DeepJSCC
from semjscc.training.bench import bench_peer
from semjscc.training.jscc import train_jscc
from semjscc.training.optim import adam


def _losses(run) -> list[float]:
    rows = list(csv.DictReader((run / "log.csv").open()))
    return [float(r[k]) for r in rows for k in ("train_loss", "val_loss", "val_psnr")]


def test_bf16_autocast_trains_on_cpu_with_fp32_weights(tmp_path, micro_overrides):
    cfg = load_config("tiny/df", micro_overrides + ["train.precision=bf16", "train.epochs=1"])
    run = train_jscc(cfg, tmp_path / "bf16")
    assert all(math.isfinite(v) for v in _losses(run))
    state = load_checkpoint(run / "best.pt", kind="deepjscc")["model"]
    assert all(t.dtype == torch.float32 for t in state.values() if t.is_floating_point())


@pytest.mark.slow
def test_compiled_training_on_cpu_matches_eager(tmp_path, micro_overrides):
    base = micro_overrides + ["train.epochs=1"]
    eager = train_jscc(load_config("tiny/df", base), tmp_path / "eager")
    compiled = train_jscc(load_config("tiny/df", base + ["train.compile=true"]),
                          tmp_path / "compiled")
    got, want = _losses(compiled), _losses(eager)
    assert all(math.isfinite(v) for v in got)
    assert got == pytest.approx(want, rel=1e-3)
    keys = load_checkpoint(compiled / "best.pt", kind="deepjscc")["model"].keys()
    assert not any("_orig_mod" in k or k.startswith("module.") for k in keys)


def _relay_step(grad_checkpoint: bool) -> tuple[dict[str, torch.Tensor], int]:
    """Gradients of one r = 3 DF training step (fixed noise), and the bytes autograd kept
    for backward outside checkpointed regions."""
    torch.manual_seed(0)
    model = Yilmaz2023DeepJSCC(8, 4)
    link = MultiHopDF(model, AWGN(), grad_checkpoint=grad_checkpoint)
    x = torch.rand(3, 3, 16, 16)
    kept = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        kept.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = link(x, [0.0, 5.0, 10.0, 15.0], generator=torch.Generator().manual_seed(1))
        (out["x_hat"] - x).pow(2).mean().backward()
    return {k: p.grad.clone() for k, p in model.named_parameters()}, sum(kept)


def test_grad_checkpoint_gives_the_same_gradients_keeping_far_less():
    plain, plain_bytes = _relay_step(False)
    ckpt, ckpt_bytes = _relay_step(True)
    assert plain.keys() == ckpt.keys()
    for k in plain:
        torch.testing.assert_close(ckpt[k], plain[k], rtol=1e-5, atol=1e-7, msg=k)
    assert ckpt_bytes < 0.1 * plain_bytes  # only hop inputs and the channel's few tensors


def test_grad_checkpoint_and_unfused_adam_train(tmp_path, micro_overrides):
    sw = ["train.epochs=1", "link.relays=1"]
    plain = train_jscc(load_config("tiny/df", micro_overrides + sw), tmp_path / "plain")
    other = train_jscc(load_config("tiny/df", micro_overrides + sw + [
        "train.grad_checkpoint=true", "train.fused_adam=false"]), tmp_path / "other")
    assert _losses(other) == pytest.approx(_losses(plain), rel=1e-3)


def test_fused_adam_takes_the_same_steps_as_the_loop():
    torch.manual_seed(0)
    weights = [torch.randn(5, 4), torch.randn(7)]
    runs = []
    for fused in (False, True):
        params = [torch.nn.Parameter(w.clone()) for w in weights]
        opt = adam(params, lr=1e-2, weight_decay=1e-3, fused=fused)
        for step in range(5):
            opt.zero_grad()
            sum((p * (step + 1)).sin().sum() for p in params).backward()
            opt.step()
        assert opt.param_groups[0]["fused"] is (True if fused else None)
        runs.append(params)
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_precision_is_checked():
    with pytest.raises(Exception, match="train.precision"):
        load_config("tiny/df", ["train.precision=fp8"])


def test_bench_peer_kaira_times_ours_and_both_kaira_layouts():
    pytest.importorskip("kaira")
    (row,) = bench_peer("kaira", [(8, 4, 16, 2)], torch.device("cpu"), repeats=1)
    assert (row.num_features, row.num_latent, row.image_size, row.batch_size) == (8, 4, 16, 2)
    for figures in (row.train_images_per_s, row.infer_images_per_s):
        assert set(figures) == {"ours", "kaira", "kaira-nhwc"}
        assert all(v > 0 for v in figures.values())


def test_bench_peer_cli_prints_ratios(capsys):
    pytest.importorskip("kaira")
    assert main(["bench", "--peer", "kaira", "--peer-cases", "8:4:16:2", "--configs", "",
                 "--qf", "", "--repeats", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("8, 4")]
    assert [line.split()[4] for line in lines] == ["train", "infer"]
    assert all(line.endswith("×") and line.count("×") == 2 for line in lines)


def test_bench_peer_without_kaira_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kaira.channels", None)  # import fails
    assert main(["bench", "--peer", "kaira", "--configs", "", "--qf", ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'semjscc[bench]'" in err[0]


@pytest.mark.slow
def test_bench_ddp_two_gloo_processes():
    from semjscc.config import ModelConfig
    from semjscc.training.bench import bench_ddp

    d = bench_ddp(ModelConfig(num_features=8, bandwidth_ratio="1/6"), 16, 4, world=2, repeats=1,
                  rounds=2)
    assert d.world == 2 and d.batch_size == 4
    assert d.single_images_per_s > 0 and d.ddp_images_per_s > 0 and d.scaling > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS from /proc")
def test_bench_peak_memory_survives_earlier_work_in_the_process():
    """The RSS peak counts memory that earlier work freed into the C heap: measured twice in
    one process, a training step needs about as much the second time (it read 0 MiB
    before the heap was trimmed first)."""
    from semjscc.training.bench import bench_model

    cfg = load_config("tiny/df")
    peaks = [bench_model("tiny", cfg.model, 32, 32, torch.device("cpu"), repeats=1,
                         train=cfg.train).train_peak_bytes for _ in range(2)]
    assert peaks[0] > 20 * 2**20
    assert peaks[1] > 0.5 * peaks[0]
