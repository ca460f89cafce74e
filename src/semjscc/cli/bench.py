"""``semjscc bench``: images/s, peak memory and hardware utilisation of the presets."""

from __future__ import annotations

import argparse

import torch

from ..config import load_config
from ..engine.bench import bench_model, bench_qf, matmul_flops
from ..engine.distributed import resolve_device
from ..engine.qf import parse_settings
from .common import device_spec, positive_int
from .qf import PAPER_NQ_B

# per image at 256x256 as reported by Bergström et al. (the paper does not name the hardware)
PAPER_INFERENCE_S, PAPER_TRAINING_S = 0.046, 0.094


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="throughput, memory and utilisation of tiny/paper configs",
                       description="Benchmark one-hop training and inference of the tiny and "
                       "paper DeepJSCC configs. On CPU configs larger than 64x64 run at 64x64 "
                       "unless --size is given.")
    p.add_argument("--configs", default="tiny/df,paper/df", help="comma-separated configs")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--size", type=positive_int, default=None,
                   help="image size (default: the config's; on CPU at most 64)")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="batch size (default: the config's r=0 batch; 2 for shrunk CPU runs)")
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--qf", default=PAPER_NQ_B,
                   help="N_Q:b settings for the QF fit/quantise benchmark ('' to skip)")
    p.add_argument("--qf-max-blocks", type=positive_int, default=1_000_000)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    qf_settings = parse_settings(args.qf) if args.qf else []  # bad settings fail before timing
    cases = []
    for name in args.configs.split(","):
        cfg = load_config(name)
        shrink = not on_gpu and cfg.data.image_size > 64
        size = args.size or (64 if shrink else cfg.data.image_size)
        batch = args.batch or (2 if shrink else cfg.train.batch_size_for(0))
        cases.append((name, cfg.model, size, batch))
    if on_gpu:
        torch.backends.cudnn.benchmark = True
    peak = matmul_flops(device)
    where = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {where}")
    print(f"measured dense fp32 matmul peak (best of n = 1024, 2048, 4096): {peak / 1e9:,.1f} GFLOP/s")
    print(f"{'config':<10}{'size':>6}{'batch':>7}{'GMAC/hop':>10}{'train img/s':>13}"
          f"{'infer img/s':>13}{'train ms/img':>14}{'infer ms/img':>14}{'train util':>12}"
          f"{'infer util':>12}{'train peak mem':>16}")
    for name, model_cfg, size, batch in cases:
        b = bench_model(name, model_cfg, size, batch, device, repeats=args.repeats)
        print(f"{name:<10}{size:>6}{batch:>7}{b.hop_gmacs:>10.2f}{b.train_images_per_s:>13.1f}"
              f"{b.infer_images_per_s:>13.1f}{1e3 / b.train_images_per_s:>14.1f}"
              f"{1e3 / b.infer_images_per_s:>14.1f}{b.train_flops / peak:>12.1%}"
              f"{b.infer_flops / peak:>12.1%}{b.train_peak_bytes / 2**20:>12.0f} MiB")
    if qf_settings:
        print(f"QF at paper scale (1,050 val images x 131,072 reals; K-means on a subsample of "
              f"at most {args.qf_max_blocks:,} blocks):")
        for q in bench_qf(qf_settings, max_blocks=args.qf_max_blocks, device=device):
            print(f"  N_Q={q.n_q} b={q.bits:<5g} K={2 ** round(q.n_q * q.bits):<3} fit "
                  f"{q.n_blocks_fit:,} of {q.n_blocks_total:,} blocks in {q.fit_seconds:6.1f} s;"
                  f" quantise {q.quantize_blocks_per_s / 1e6:6.1f} M blocks/s")
    print(f"reference, Bergström et al. (256x256, hardware not stated): training "
          f"{PAPER_TRAINING_S * 1e3:.0f} "
          f"ms/img, inference {PAPER_INFERENCE_S * 1e3:.0f} ms/img")
    return 0
