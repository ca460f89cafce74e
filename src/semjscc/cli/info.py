"""``semjscc info``: size, bandwidth and compute of a configured model."""

from __future__ import annotations

import argparse

from ..channels import build_channel
from ..models import create_model
from ..models.complexity import count_macs, num_parameters, parameter_bytes
from .common import add_config_args, config_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="parameters, bytes, k, rho and MACs of a configured model")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    model = create_model(cfg.model)
    size = cfg.data.image_size
    if size % model.downsampling_factor:
        size += model.downsampling_factor - size % model.downsampling_factor
    hops = cfg.link.relays + 1
    # one shared pair serves every hop; with link.shared_codec false each hop has its own
    # pair of the same architecture, so the link holds hops x one pair's parameters
    pairs = 1 if cfg.link.shared_codec else hops
    n_pair = num_parameters(model)
    n_params = pairs * n_pair
    n_bytes = pairs * parameter_bytes(model)
    k = model.num_symbols(size, size)
    macs = count_macs(model, size)
    split = (f"encoder {num_parameters(model.encoder):,}, "
             f"decoder {num_parameters(model.decoder):,}")
    print(f"model            {cfg.model.name} ({model.extra_repr()})")
    if pairs == 1:
        print(f"parameters       {n_params:,} ({split})")
    else:
        print(f"parameters       {n_params:,} = {pairs} pairs (one per hop) x {n_pair:,} "
              f"({split})")
    print(f"size (fp32)      {n_bytes:,} bytes = {n_bytes / 1e6:.2f} MB = {n_bytes / 2**20:.2f} MiB"
          + ("" if pairs == 1 else f" ({pairs} pairs)"))
    print(f"image            3 x {size} x {size} = {3 * size * size:,} values")
    print(f"k                {k:,} complex symbols per image")
    print(f"rho              k / (3HW) = {k / (3 * size * size):.4f} "
          f"(= {model.bandwidth_ratio()})")
    print(f"MACs per image   encode {macs['encode'] / 1e9:.3f} G, "
          f"decode {macs['decode'] / 1e9:.3f} G, per hop {macs['hop'] / 1e9:.3f} G")
    print(f"link             {cfg.link.relays} relays = {hops} hops over "
          f"{build_channel(cfg.link.channel).label}: {hops * macs['hop'] / 1e9:.3f} GMAC per "
          "image end to end")
    return 0
