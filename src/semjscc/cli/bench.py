"""``semjscc bench``: images/s, peak memory and hardware utilisation of the presets."""

from __future__ import annotations

import argparse

import torch

from ..channels import AWGN, build_channel
from ..config import Config, TrainConfig, load_config
from ..device import resolve_device
from ..errors import ConfigError, SemjsccError
from ..evaluation.digital import (
    BENCH_BATCH,
    BENCH_CONFIG,
    BENCH_K,
    BENCH_SNRS_DB,
    MODULATIONS,
    bench_digital,
    bench_images,
)
from ..evaluation.qf import parse_settings
from ..parsing import parse_yaml
from ..registry import PEERS
from ..training.bench import (
    bench_channels,
    bench_ddp,
    bench_model,
    bench_peer,
    bench_qf,
    matmul_flops,
)
from .common import codec_name, device_spec, mcs_value, positive_int
from .qf import PAPER_NQ_B

# the comparison grid: N, M, image size, batch
PEER_CASES = "32:24:32:32,64:24:32:32,256:32:64:4"

# per image at 256x256 as reported by Bergström et al. (the paper does not name the hardware)
PAPER_INFERENCE_S, PAPER_TRAINING_S = 0.046, 0.094


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="throughput, memory and utilisation of tiny/paper configs",
                       description="Benchmark one-hop training and inference of the tiny and "
                       "paper DeepJSCC configs. On CPU configs larger than 64x64 run at 64x64 "
                       "unless --size is given.")
    p.add_argument("--configs", default="tiny/df,paper/df",
                   help="comma-separated configs ('' to skip)")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--size", type=positive_int, default=None,
                   help="image size (default: the config's; on CPU at most 64)")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="batch size (default: the config's r=0 batch; 2 for shrunk CPU runs; "
                   f"{BENCH_BATCH} for --digital)")
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--qf", default=PAPER_NQ_B,
                   help="N_Q:b settings for the QF fit/quantise benchmark ('' to skip)")
    p.add_argument("--qf-max-blocks", type=positive_int, default=1_000_000)
    p.add_argument("--peer", type=peer_name, default=None,
                   help="also time this peer's implementation of the same model against ours "
                   "(kaira: needs pip install 'semjscc[bench]')")
    p.add_argument("--peer-cases", type=peer_cases, default=PEER_CASES, metavar="N:M:S:B,...",
                   help=f"feature width N, latent channels M, image size S, batch B of each "
                   f"peer comparison (default {PEER_CASES})")
    p.add_argument("--ddp", type=positive_int, default=None, metavar="PROCESSES",
                   help="also time CPU DDP (gloo) with this many processes on the first "
                   "config, against one process")
    p.add_argument("--digital", type=digital_spec, default=None, metavar="[CODEC:]MCS,...",
                   help="also time the digital chain (codec + 5G NR TB + QAM; default codec "
                   f"webp) at each MCS index on the tiny budget ({BENCH_CONFIG} 32x32 test "
                   f"images, k = {BENCH_K} complex symbols), AWGN at "
                   f"{BENCH_SNRS_DB[0]:g} dB (delivered) and {BENCH_SNRS_DB[1]:g} dB (lost), "
                   "e.g. webp:5,9,16,20")
    p.add_argument("--ofdm", type=ofdm_spec, nargs="?", const={}, default=None,
                   metavar="KEY=VALUE,...",
                   help="also time a one-hop training step of the first config over the ofdm "
                   "channel (LS and perfect CSI) against AWGN and print the step-time ratios; "
                   "optional channel options, e.g. model=tdl-a,speed_mps=30,bank_size=512")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="speed switches of ours, e.g. train.compile=true, "
                   "train.channels_last=false, train.precision=bf16")
    p.set_defaults(func=run)


def digital_spec(text: str) -> tuple[str, list[int]]:
    """``[CODEC:]MCS,...`` (fixed MCS indices; codec default webp), e.g. ``webp:5,9,16``."""
    codec, _, indices = text.rpartition(":")
    codec = codec_name(codec or "webp")
    mcs = [mcs_value(item) for item in indices.split(",")]
    if not indices.strip() or "adaptive" in mcs:
        raise argparse.ArgumentTypeError(f"expected [CODEC:]MCS indices such as webp:5,9,16,20 "
                                         f"(fixed indices, not adaptive), got {text!r}")
    return codec, [int(m) for m in mcs]


def print_digital(codec: str, mcs: list[int], batch: int, repeats: int) -> None:
    """Images/s, TB bits, information Mbit/s and where the time goes, per MCS and SNR."""
    print(f"digital chain: {codec} + 5G NR TB (LDPC, {len(mcs)} MCS) + QAM, {BENCH_CONFIG} "
          f"32x32 test images, k = {BENCH_K:,} complex symbols, AWGN, one hop, batch {batch}, "
          f"median of {repeats} (codec searches from an empty file cache); shares of the wall "
          "time; file>TB: images whose smallest file exceeds the TB (lost at any SNR)")
    shares = ("codec encode", "codec decode", "LDPC encode", "demap", "LDPC decode")
    print(f"{'MCS':>4}{'modulation':>11}{'rate':>6}{'TB bits':>9}{'SNR dB':>8}{'delivered':>11}"
          f"{'file>TB':>9}{'img/s':>8}{'info Mbit/s':>13}" + "".join(f"{s:>14}" for s in shares))
    for b in bench_digital(codec, mcs, bench_images(batch), BENCH_K, BENCH_SNRS_DB, repeats):
        print(f"{b.tb.mcs:>4}{MODULATIONS[b.tb.modulation_order]:>11}{b.tb.code_rate:>6.2f}"
              f"{b.tb.tb_bits:>9,}{b.snr_db:>8g}{f'{b.delivered}/{b.batch}':>11}"
              f"{b.unreachable:>9}{b.images_per_s:>8.2f}"
              f"{b.info_mbit_per_s:>13.4f}" + "".join(f"{b.shares[s]:>14.1%}" for s in shares))


def ofdm_spec(text: str) -> dict[str, object]:
    """``KEY=VALUE,...`` options of the ofdm channel (values read as YAML)."""
    options = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"{item!r}: expected KEY=VALUE, e.g. model=tdl-a")
        try:
            options[key.strip()] = parse_yaml(value, f"--ofdm {key.strip()}")
        except SemjsccError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return options


def print_ofdm(name: str, cfg: Config, size: int, batch: int, options: dict[str, object],
               device: torch.device, repeats: int) -> None:
    """The training-step time over the ofdm channel (LS, perfect CSI) against AWGN."""
    channels = {"awgn": AWGN(), **{f"ofdm-{csi}": build_channel(
        {"name": "ofdm", **options, "csi": csi}) for csi in ("ls", "perfect")}}
    seconds = bench_channels(cfg.model, channels, size, batch, device, repeats, cfg.train)
    ofdm = channels["ofdm-ls"]
    print(f"ofdm channel ({ofdm.extra_repr()}), {name} at {size}x{size}, batch {batch}, one-hop "
          f"training step, interleaved, median of {repeats}:")
    for key, t in seconds.items():
        print(f"  {key:<14}{t * 1e3:>9.1f} ms/step{t / seconds['awgn']:>8.2f}x AWGN")


def peer_name(text: str) -> str:
    """A registered benchmark peer."""
    if text not in PEERS:
        raise argparse.ArgumentTypeError(f"unknown peer {text!r}; choose one of: "
                                         f"{', '.join(PEERS.names())}")
    return text


def peer_cases(text: str) -> list[tuple[int, int, int, int]]:
    """Comma-separated ``N:M:S:B`` (N, M even >= 2; S a multiple of 4; B >= 1)."""
    out = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
            raise argparse.ArgumentTypeError(f"{item!r}: expected N:M:S:B whole numbers, e.g. "
                                             "32:24:32:32")
        n, m, size, batch = map(int, parts)
        if n < 2 or m < 2 or n % 2 or m % 2 or size < 4 or size % 4 or batch < 1:
            raise argparse.ArgumentTypeError(f"{item!r}: N and M must be even >= 2, S a "
                                             "multiple of 4, B >= 1")
        out.append((n, m, size, batch))
    return out


def print_peer(args: argparse.Namespace, train: TrainConfig, device: torch.device) -> None:
    """The images/s of ours and the peer on each case, and the ratios."""
    peer = args.peer
    print(f"ours vs {peer} ({PEERS.get(peer).__name__}), one hop (encode, power-normalise, "
          f"AWGN, decode), interleaved, median of {args.repeats}; ours: channels_last="
          f"{train.channels_last}, precision={train.precision}, compile={train.compile}, "
          f"fused_adam={train.fused_adam}, grad_checkpoint={train.grad_checkpoint}; {peer}: as "
          f"shipped (NCHW, fp32, torch's default Adam), {peer}-nhwc: fed channels-last images, "
          "strided 1x1 convolutions subsampled and Adam fused as ours")
    names = ["ours", peer, f"{peer}-nhwc"]
    print(f"{'N, M, size, batch':<20}{'mode':>7}" + "".join(f"{n + ' img/s':>18}" for n in names)
          + f"{'ours/' + peer:>16}{'ours/' + peer + '-nhwc':>20}")
    for b in bench_peer(peer, args.peer_cases, device, args.repeats, train):
        case = f"{b.num_features}, {b.num_latent}, {b.image_size}², {b.batch_size}"
        for mode, ips in (("train", b.train_images_per_s), ("infer", b.infer_images_per_s)):
            print(f"{case:<20}{mode:>7}" + "".join(f"{ips[n]:>18.1f}" for n in names)
                  + f"{ips['ours'] / ips[peer]:>15.2f}×{ips['ours'] / ips[names[2]]:>19.2f}×")


def print_configs(cases: list[tuple[str, Config, int, int]], device: torch.device,
                  repeats: int) -> None:
    """Images/s, utilisation and peak memory of each (name, config, size, batch)."""
    peak = matmul_flops(device)
    print(f"measured dense fp32 matmul peak (best of n = 1024, 2048, 4096): "
          f"{peak / 1e9:,.1f} GFLOP/s")
    print(f"{'config':<10}{'size':>6}{'batch':>7}{'GMAC/hop':>10}{'train img/s':>13}"
          f"{'infer img/s':>13}{'train ms/img':>14}{'infer ms/img':>14}{'train util':>12}"
          f"{'infer util':>12}{'train peak mem':>16}{'per image':>12}")
    for name, cfg, size, batch in cases:
        b = bench_model(name, cfg.model, size, batch, device, repeats=repeats, train=cfg.train)
        print(f"{name:<10}{size:>6}{batch:>7}{b.hop_gmacs:>10.2f}{b.train_images_per_s:>13.1f}"
              f"{b.infer_images_per_s:>13.1f}{1e3 / b.train_images_per_s:>14.1f}"
              f"{1e3 / b.infer_images_per_s:>14.1f}{b.train_flops / peak:>12.1%}"
              f"{b.infer_flops / peak:>12.1%}{b.train_peak_bytes / 2**20:>12.0f} MiB"
              f"{b.train_peak_bytes / batch / 2**20:>8.0f} MiB")


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    qf_settings = parse_settings(args.qf) if args.qf else []  # bad settings fail before timing
    cases = []
    for name in filter(None, args.configs.split(",")):
        cfg = load_config(name, args.overrides)
        shrink = not on_gpu and cfg.data.image_size > 64
        size = args.size or (64 if shrink else cfg.data.image_size)
        batch = args.batch or (2 if shrink else cfg.train.batch_size_for(0))
        cases.append((name, cfg, size, batch))
    if args.ddp and cases and cases[0][3] % args.ddp:
        raise ConfigError(f"--ddp {args.ddp}: the batch {cases[0][3]} of {cases[0][0]} does not "
                          f"split over {args.ddp} processes; give --batch a multiple of it")
    if on_gpu:
        torch.backends.cudnn.benchmark = True
    where = (torch.cuda.get_device_name(device) if on_gpu
             else f"CPU, {torch.get_num_threads()} threads")
    print(f"device: {where}")
    if args.peer:
        print_peer(args, load_config(None, args.overrides).train, device)
    if cases:
        print_configs(cases, device, args.repeats)
    if args.ddp and cases:
        name, cfg, size, batch = cases[0]
        d = bench_ddp(cfg.model, size, batch, args.ddp, args.repeats, cfg.train.channels_last)
        print(f"DDP (gloo, CPU) {name} at {size}x{size}, global batch {batch}: 1 process x "
              f"{d.threads} threads {d.single_images_per_s:.1f} img/s; {d.world} processes x "
              f"{max(1, d.threads // d.world)} threads {d.ddp_images_per_s:.1f} img/s; "
              f"scaling {d.scaling:.2f}x")
    if args.ofdm is not None and cases:
        print_ofdm(*cases[0], args.ofdm, device, args.repeats)
    if args.digital:
        print_digital(*args.digital, args.batch or BENCH_BATCH, args.repeats)
    if qf_settings:
        print(f"QF at paper scale (1,050 val images x 131,072 reals; K-means on a subsample of "
              f"at most {args.qf_max_blocks:,} blocks):")
        qf = bench_qf(qf_settings, max_blocks=args.qf_max_blocks, device=device)
        for q in qf:
            print(f"  N_Q={q.n_q} b={q.bits:<5g} K={2 ** round(q.n_q * q.bits):<3} fit "
                  f"{q.n_blocks_fit:,} of {q.n_blocks_total:,} blocks in {q.fit_seconds:6.1f} s;"
                  f" quantise {q.quantize_blocks_per_s / 1e6:6.1f} M blocks/s")
        fit_s = sum(q.fit_seconds for q in qf)
        quantise_s = sum(q.n_blocks_total / q.quantize_blocks_per_s for q in qf)
        print(f"  all {len(qf)} codebooks: fit {fit_s:.0f} s + quantise every block "
              f"{quantise_s:.0f} s = {fit_s + quantise_s:.0f} s")
    print(f"reference, Bergström et al. (256x256, hardware not stated): training "
          f"{PAPER_TRAINING_S * 1e3:.0f} "
          f"ms/img, inference {PAPER_INFERENCE_S * 1e3:.0f} ms/img")
    return 0
