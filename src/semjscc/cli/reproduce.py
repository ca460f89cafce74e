"""``semjscc reproduce``: the core paper's experiments, figures and report in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..experiments import reproduce
from ..experiments.executor import build_executor
from .common import address_spec, device_spec, executor_kind, out_dir, shard_spec


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce", help="train, evaluate, plot and report the paper's experiments",
        description="Train the DHD, the mse and mse+dhd DF models of every relays x SNR, fit QF "
        "codebooks, evaluate DF/QF/separation into results.csv, draw the paper's figures and "
        "write report.md. Re-running the same command skips finished parts. --out must be new, "
        "empty or a folder reproduce wrote (it leaves a .semjscc-run marker there).")
    p.add_argument("--preset", default="tiny",
                   help="tiny (CPU, minutes, synthetic data), paper (GPU, NUS-WIDE), eo-tiny "
                   "(CPU, minutes, synthetic EO data), eo-awgn-2025 / eo-rician-2026 (GPU, "
                   "EuroSAT), or a YAML file")
    p.add_argument("--out", required=True, type=out_dir, help="output directory")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. data.root=/data/nuswide_m256")
    p.add_argument("--device", default=None, type=device_spec, help="auto (default), cpu, cuda, cuda:1")
    p.add_argument("--executor", default="local", type=executor_kind,
                   help="where the units (trainings, codebook fits, evaluations) run: local "
                   "(default, one after another) or ray (Ray tasks, one GPU each where the "
                   "cluster has GPUs)")
    p.add_argument("--address", default=None, type=address_spec,
                   help="Ray cluster HOST:PORT (or auto) for --executor ray; default: a local "
                   "Ray instance")
    p.add_argument("--shard", default=None, type=shard_spec, metavar="I/N",
                   help="run only shard I of N of the units (e.g. one SLURM array task each), "
                   "then stop; an un-sharded run finishes what is left and writes the results")
    claim = p.add_mutually_exclusive_group()
    claim.add_argument("--resume", action="store_true",
                       help="continue the run in --out (re-running without it does the "
                       "same); an error when --out holds no run")
    claim.add_argument("--force", action="store_true",
                       help="write into a non-empty --out that reproduce did not create; "
                       "its files of the same names are overwritten")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = args.preset if Path(args.preset).is_file() else f"{args.preset}/reproduce"
    executor = build_executor(args.executor, args.shard, args.address)
    reproduce(spec, args.out, args.overrides, args.device, executor, args.force, args.resume)
    return 0
