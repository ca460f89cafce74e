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
    n_params = num_parameters(model)
    n_bytes = parameter_bytes(model)
    k = model.num_symbols(size, size)
    macs = count_macs(model, size)
    hops = cfg.link.relays + 1
    print(f"model            {cfg.model.name} ({model.extra_repr()})")
    print(f"parameters       {n_params:,} (encoder {num_parameters(model.encoder):,}, "
          f"decoder {num_parameters(model.decoder):,})")
    print(f"size (fp32)      {n_bytes:,} bytes = {n_bytes / 1e6:.2f} MB = {n_bytes / 2**20:.2f} MiB")
    print(f"image            3 x {size} x {size} = {3 * size * size:,} values")
    print(f"k                {k:,} complex symbols per image")
    print(f"rho              k / (3HW) = {k / (3 * size * size):.4f} "
          f"(= {model.bandwidth_ratio()})")
    print(f"MACs per image   encode {macs['encode'] / 1e9:.3f} G, decode {macs['decode'] / 1e9:.3f} G, "
          f"per hop {macs['hop'] / 1e9:.3f} G")
    print(f"link             {cfg.link.relays} relays = {hops} hops over "
          f"{build_channel(cfg.link.channel).label}: {hops * macs['hop'] / 1e9:.3f} GMAC per "
          "image end to end")
    return 0
