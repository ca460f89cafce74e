"""The units of the core multi-hop experiment: the DHD and judges, every DF model (shared
bases first, then r = 0), QF codebooks of the shared-pair r = 0 models, and one evaluation
per DF model, per QF codebook set and for the separation baselines, each cached in
OUT/eval/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...baselines import available_codecs, separation_system
from ...baselines.digital import DIGITAL_NOTE, DigitalSystem
from ...channels import AWGN, Channel, build_channel
from ...config import Config
from ...data import build_dataset, make_loader
from ...evaluation.evaluate import (
    classifier_judge,
    evaluate_df_checkpoint,
    evaluate_outputs,
    evaluate_system,
    hash_judge,
    image_suite,
    judge_suites,
)
from ...evaluation.qf import evaluate_qf_checkpoint, fit_codebooks
from ...models import create_model
from ...semantics import Judge
from ...training.dhd import train_dhd
from ...training.jscc import train_jscc
from ...training.task import train_task
from ..executor import Unit
from ..units import CachedEvaluations, PerProcess, method_slug, run_state, seeded
from .plan import DFRun, Plan


def separation_rows(cfg: Config, judges: list[Judge], device: torch.device,
                    seed: int) -> list[dict[str, Any]]:
    """Separation baselines: one evaluation per codec × SNR, repeated for every relay count
    over AWGN (exact decoding at each relay: quality does not depend on r); over fading the
    weakest hop sets each image's budget, so every relay count is evaluated."""
    k, channel, loader = _baseline_setting(cfg, seed)
    per_relay = not isinstance(channel, AWGN)
    rows = []
    usable = set(available_codecs())
    for codec in cfg.sweep.separation:
        for snr in cfg.sweep.snr_db:
            base = {"method": f"separation-{codec}", "protocol": "separation", "snr_db": snr,
                    "seed": seed, **channel.describe()}
            if codec not in usable:
                for r in cfg.sweep.relays:
                    rows.append({**base, "relays": r,
                                 "note": f"{codec} encoder not available in this Pillow build"})
                continue
            for r in cfg.sweep.relays if per_relay else [None]:
                system = separation_system(codec, snr, k, channel=channel,
                                           hops=1 if r is None else r + 1)
                metrics = evaluate_system(
                    system, loader, [image_suite(cfg, device), *judge_suites(judges, device)],
                    device, seed, desc=f"separation {codec} {snr:g} dB")
                if system.all_unreachable:
                    metrics = {"n_images": metrics["n_images"]}
                for relays in cfg.sweep.relays if r is None else [r]:
                    rows.append({**base, **system.row_fields(), "relays": relays, **metrics})
    return rows


def _baseline_setting(cfg: Config, seed: int) -> tuple[int, Channel, Any]:
    """What every baseline of the sweep shares: the DeepJSCC's k complex channel uses per
    image, the channel and the test loader."""
    size = cfg.data.image_size
    k = create_model(cfg.model).num_symbols(size, size)
    loader = make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                         shuffle=False, seed=seed, num_workers=cfg.data.num_workers)
    return k, build_channel(cfg.link.channel), loader


def digital_rows(cfg: Config, codec: str, mcs: int | str, judges: list[Judge],
                 device: torch.device, seed: int) -> list[dict[str, Any]]:
    """The digital chain (``codec`` + TB of ``mcs`` + QAM) at every SNR of the sweep: one
    chain of max(relays) + 1 DF hops per SNR gives the rows of every relay count (r relays:
    the image after hop r + 1)."""
    k, channel, loader = _baseline_setting(cfg, seed)
    relays = sorted(cfg.sweep.relays)
    rows = []
    for snr in cfg.sweep.snr_db:
        system = DigitalSystem(codec, mcs, snr, k, channel, hops=relays[-1] + 1,
                               link=cfg.digital.link)
        results = evaluate_outputs(
            system.outputs, loader, [[image_suite(cfg, device), *judge_suites(judges, device)]
                                     for _ in range(system.link.hops)],
            device, seed, desc=f"digital {codec} MCS {mcs} {snr:g} dB")
        for r in relays:
            rows.append({**system.row_fields(hops=r + 1), "relays": r, **results[r],
                         "seed": seed, "note": DIGITAL_NOTE})
    return rows


def sweep_units(plan: Plan, settings: list[tuple[int, float]]
                ) -> tuple[list[Unit], list[tuple[DFRun, float, Path]]]:
    """The trainings and codebook fits of ``plan`` as executor units (DHD and judges, DF
    models with the shared bases first, then r = 0, QF codebooks of the shared-pair r = 0
    models at the QF SNRs), and the (run, SNR, codebook dir) triples of QF."""
    cfg = plan.cfg
    units = [Unit("dhd", "[1/5] DHD", lambda state: train_dhd(cfg, plan.dhd_dir,
                                                                state == "partial"),
                  lambda: run_state(plan.dhd_dir, cfg.dhd.epochs))]
    for j in plan.judges:
        train = train_dhd if j.is_dhd else train_task
        units.append(Unit(f"judge/{j.name}", f"[1/5] {j.label}",
                          lambda state, j=j, train=train: train(j.cfg, j.dir, state == "partial"),
                          lambda j=j: run_state(j.dir, j.epochs)))
    df_runs = plan.bases + sorted(plan.df_runs, key=lambda r: r.relays)
    key = {run.checkpoint: f"df/{method_slug(run.method)}/{run.dir.name}" for run in df_runs}
    for i, run in enumerate(df_runs, start=1):
        parent = key.get(Path(run.cfg.train.init_from)) if run.cfg.train.init_from else None
        units.append(Unit(
            key[run.checkpoint], f"[2/5] DF model {i}/{len(df_runs)} ({run.label})",
            lambda state, run=run: train_jscc(run.cfg, run.dir, resume=state == "partial"),
            lambda run=run: run_state(run.dir, run.cfg.train.epochs),
            needs=(*(["dhd"] if "dhd" in run.loss else []), *([parent] if parent else [])),
            group=parent if run.relays else None))  # the methods' r = 0 runs spread over shards
    qf_dirs: list[tuple[DFRun, float, Path]] = []
    wanted = {f"qf_nq{n}_b{b:g}.safetensors" for n, b in settings}
    for run in (r for r in plan.df_runs if r.relays == 0 and r.shared):  # not the bases
        for snr in [s for s in run.eval_snrs if s in (cfg.sweep.qf_snr_db or run.eval_snrs)]:
            book_dir = (plan.out / "qf" / method_slug(run.method)
                        / f"snr{snr:g}{run.seed_suffix}")
            qf_dirs.append((run, snr, book_dir))

            def state(run: DFRun = run, book_dir: Path = book_dir) -> str:
                have = {p.name for p in book_dir.glob("qf_*.safetensors")
                        if p.stat().st_mtime >= run.checkpoint.stat().st_mtime}
                return "done" if wanted <= have else "new"

            units.append(Unit(
                f"qf/{method_slug(run.method)}/{book_dir.name}",
                f"[3/5] QF codebooks {run.method} at {snr:g} dB",
                lambda _, run=run, snr=snr, book_dir=book_dir: fit_codebooks(
                    run.checkpoint, settings, book_dir, snr, cfg.sweep.qf_max_blocks, cfg.seed,
                    cfg.train.device),
                state, needs=(key[run.checkpoint],), group=key[run.checkpoint],
                words=(("done", "finished, skipped"), ("new", "fitting"))))
    return units, qf_dirs


def evaluation_units(plan: Plan, qf_dirs: list[tuple[DFRun, float, Path]], device: torch.device
                     ) -> tuple[list[Unit], list[Path]]:
    """The evaluations of ``plan`` as executor units, one per DF model, per QF codebook set
    and one for the separation baselines, each caching its rows in OUT/eval/ (re-run when
    older than its model, codebooks or any judge); and those caches in results order. Each
    process loads the judges once."""
    cfg = plan.cfg
    judge_files = [plan.dhd_checkpoint, *(j.checkpoint for j in plan.judges)]
    judge_keys = ("dhd", *(f"judge/{j.name}" for j in plan.judges))

    judges = PerProcess(lambda: [hash_judge(plan.dhd_checkpoint, cfg, device)] + [
        hash_judge(j.checkpoint, cfg, device, j.suffix) if j.is_dhd
        else classifier_judge(j.checkpoint, device, j.suffix) for j in plan.judges])
    evals = CachedEvaluations(plan.out, judges, judge_files, judge_keys)
    add = evals.add
    for run in plan.df_runs:
        slug = method_slug(run.method)
        add(f"df_{slug}_{run.dir.name}", f"[4/5] evaluation of DF model {run.label}",
            lambda run=run: [run.checkpoint],
            lambda judges, run=run: seeded(run, evaluate_df_checkpoint(
                run.checkpoint, snr_db=run.eval_snrs, relays=[run.relays], device=str(device),
                judges=judges)), (f"df/{slug}/{run.dir.name}",))
    for run, snr, book_dir in qf_dirs:
        slug = method_slug(run.method)
        add(f"qf_{slug}_{book_dir.name}", f"[4/5] evaluation of QF {run.method} at {snr:g} dB",
            lambda book_dir=book_dir: list(book_dir.glob("qf_*.safetensors")),
            lambda judges, run=run, book_dir=book_dir: seeded(run, evaluate_qf_checkpoint(
                run.checkpoint, book_dir, device=str(device), judges=judges)),
            (f"qf/{slug}/{book_dir.name}",))
    if cfg.sweep.separation:
        add("separation", "[4/5] evaluation of the separation baselines", list,
            lambda judges: separation_rows(cfg, judges, device, cfg.eval.seed), ())
    for codec in cfg.digital.codecs:
        for mcs in cfg.digital.mcs:
            add(f"digital_{codec}_mcs{mcs}",
                f"[4/5] evaluation of the digital chain {codec}, MCS {mcs}", list,
                lambda judges, codec=codec, mcs=mcs: digital_rows(
                    cfg, codec, mcs, judges, device, cfg.eval.seed), ())
    return evals.units, evals.caches
