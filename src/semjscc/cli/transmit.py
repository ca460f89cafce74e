"""``semjscc transmit``: send one image through the DF chain and save every hop's output."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..channels import build_channel
from ..config import Config
from ..data.errors import DataError
from ..data.images import BAD_IMAGE_ERRORS, MAX_PIXELS, load_image
from ..device import resolve_device
from ..evaluation.digital import DigitalTransmission, transmit_digital
from ..files import atomic_write
from ..models import MultiHopDF, load
from .common import (
    add_baseline_args,
    check_baseline_args,
    device_spec,
    in_file,
    out_dir,
    positive_int,
    relay_value,
    snr_value,
)

DIGITAL_PNG = "digital.png"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transmit", help="send one image over r DF relays and save every hop",
                       description="Transmit IMAGE (any size) through relays+1 AWGN hops; saves "
                       "hop1.png .. hopN.png (N = destination) at the input size and prints PSNR. "
                       "With --baseline digital --codec C [--mcs M], sends it instead through the "
                       "digital chain (codec file in a 5G NR transport block, LDPC, QAM; relays "
                       "decode and forward the TB) over the checkpoint's channel and k complex "
                       f"symbols; saves {DIGITAL_PNG} when the image arrives (nothing when it is "
                       "lost: a TB CRC failure or a file too large for the TB).")
    p.add_argument("image", type=in_file, help="input image file (PNG, JPEG, ...)")
    p.add_argument("--checkpoint", required=True, type=in_file)
    p.add_argument("--snr-db", type=snr_value, required=True, help="SNR of every hop")
    p.add_argument("--relays", type=relay_value, required=True)
    p.add_argument("--out", required=True, type=out_dir, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--device", default="auto", type=device_spec)
    p.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                   help=f"refuse larger images (default {MAX_PIXELS:,})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the checkpoint's config, e.g. \"link.channel={name: rayleigh}\"")
    add_baseline_args(p, several_mcs=False)
    p.set_defaults(func=run)


def save_png(image: torch.Tensor, path: Path) -> None:
    """(3, H, W) in [0, 1] (clamped) -> 8-bit PNG."""
    array = (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    atomic_write(path, lambda fh: Image.fromarray(array).save(fh, format="PNG"))


def run(args: argparse.Namespace) -> int:
    check_baseline_args(args)
    try:
        x = load_image(args.image, max_pixels=args.max_pixels)[None]
    except BAD_IMAGE_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"cannot read image {args.image} ({reason}); pass a readable PNG/JPEG "
                        "file (or raise --max-pixels for a large one)") from None
    device = resolve_device(args.device)
    model, cfg = load(args.checkpoint, args.overrides, device, kind="deepjscc")
    if args.baseline == "digital":
        return run_digital(args, x, model.num_symbols(*x.shape[-2:]), cfg, device)
    link = MultiHopDF(model, build_channel(cfg.link.channel), relay_clamp=cfg.link.relay_clamp)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    with torch.no_grad():
        out = link(x.to(device), [args.snr_db] * (args.relays + 1), generator=generator)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_hops = len(out["hop_images"])
    print(f"{args.image}: {x.shape[-1]}x{x.shape[-2]} px, {args.relays} relays, "
          f"SNR {args.snr_db:g} dB per hop over {link.channel.label}")
    for i, img in enumerate(out["hop_images"], start=1):
        mse = (img.clamp(0, 1).cpu() - x).pow(2).mean().item()
        role = "destination" if i == n_hops else f"relay {i}"
        path = out_dir / f"hop{i}.png"
        save_png(img[0], path)
        print(f"hop {i} ({role}): PSNR {-10 * np.log10(max(mse, 1e-10)):.2f} dB -> {path}")
    return 0


def run_digital(args: argparse.Namespace, x: torch.Tensor, k: int, cfg: Config,
                device: torch.device) -> int:
    """The digital chain's transmission of ``x`` (1, 3, H, W) over ``k`` symbols of the
    checkpoint's channel: one line of what was sent, one of what arrived."""
    channel = build_channel(cfg.link.channel)
    hops = args.relays + 1
    generator = torch.Generator(device=device).manual_seed(args.seed)
    with torch.no_grad():
        t = transmit_digital(x[0].to(device), args.codec, args.mcs or "adaptive", args.snr_db,
                             k, channel, hops, generator)
    out_dir = Path(args.out)
    path = out_dir / DIGITAL_PNG
    print(f"{args.image}: {x.shape[-1]}x{x.shape[-2]} px, {args.relays} relays, SNR "
          f"{args.snr_db:g} dB per hop over {channel.label}; digital {t.codec}, k = {k:,} "
          "complex symbols per hop")
    if not t.delivered:
        stale = path.exists()
        if stale:
            path.unlink()  # an earlier run's image would read as this one's
        print(lost_line(t) + "; the receiver has no image: nothing written"
              + (f" (removed the earlier {path})" if stale else ""))
        return 0
    assert t.x_hat is not None
    mse = (t.x_hat.clamp(0, 1).cpu() - x[0]).pow(2).mean().item()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_png(t.x_hat, path)
    print(f"{t.mcs}: TB {t.tb.tb_bits:,} bits, {t.codec} file {t.file_bits:,} bits, CRC ok at "
          f"{'every hop' if hops > 1 else 'the hop'} ({hops}), PSNR "
          f"{-10 * np.log10(max(mse, 1e-10)):.2f} dB -> {path}")
    return 0


def lost_line(t: DigitalTransmission) -> str:
    """Why the image did not arrive, in one line starting with ``lost:``."""
    if t.unreachable:
        return (f"lost: the smallest {t.codec} file ({t.smallest_bits:,} bits) does not fit "
                f"the TB of {t.tb.tb_bits:,} bits at {t.mcs}, SNR {t.snr_db:g} dB (a higher "
                "MCS has a larger TB but needs more SNR)")
    return (f"lost: TB CRC failed at hop {t.failed_hop} of {t.hops}, {t.mcs}, SNR "
            f"{t.snr_db:g} dB ({t.codec} file {t.file_bits:,} bits in a TB of "
            f"{t.tb.tb_bits:,} bits)")
