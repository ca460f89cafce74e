"""``semjscc reproduce``: the core paper's experiments end to end, resumable.

Stages (each skipped when already finished, resumed when interrupted):

1. train the DHD                                   -> OUT/dhd/
2. train the DF models of every method × relays (× SNR)  -> OUT/df/<method>/r<r>[_snr<s>]/
3. fit QF codebooks on each method's r = 0 model(s)       -> OUT/qf/<method>/snr<s>/
4. evaluate each DF model, QF codebook set and the separation baselines -> OUT/eval/*.csv,
   then OUT/results.csv
5. figures and report                                     -> OUT/*.png, OUT/report.md

The resolved configuration is kept in OUT/reproduce.yaml; re-running with a different one is
refused (it would mix settings), so a changed experiment needs a new ``--out``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..baselines import SEPARATION_CODECS, available_codecs, separation_system
from ..channels import AWGN, build_channel
from ..config import Config, ConfigError, load_config, save_config, to_dict
from ..data import build_dataset, make_loader, num_classes_of
from ..data.errors import DataError
from ..losses import method_label
from ..models import create_dhd, create_model
from ..models.pretrained import resolve_weights
from ..plots.paper import draw_figures
from ..registry import EXPERIMENTS
from ..semantics import Judge
from .bench import bench_model
from .distributed import memory_format, resolve_device
from .eval_dhd import evaluate_dhd
from .evaluate import (
    classifier_judge,
    evaluate_df_checkpoint,
    evaluate_system,
    hash_judge,
    image_suite,
    judge_suites,
    shared_lpips,
)
from .executor import Executor, LocalExecutor, Unit, run_units
from .pipeline import (
    flow_yaml,
    fmt_duration,
    method_slug,
    run_state,
)
from .qf import evaluate_qf_checkpoint, fit_codebooks, parse_settings
from .report import write_report
from .results import read_results, write_results
from .run import config_differences
from .train_dhd import train_dhd
from .train_jscc import train_jscc
from .train_task import train_task
from .units import PerProcess, TrainingRun, evaluation_unit

log = logging.getLogger("semjscc.reproduce")


@dataclass
class DFRun(TrainingRun):
    """One DeepJSCC model of the sweep (or, with method ``base``, the shared base that the
    methods' r = 0 models fine-tune)."""

    method: str  # the label derived from the loss terms, e.g. mse+dhd
    loss: dict[str, Any]
    relays: int
    snr_db: float | None  # None: SNR-adaptive over the sweep's range
    cfg: Config
    dir: Path

    @property
    def eval_snrs(self) -> list[float]:
        return self.cfg.sweep.snr_db if self.snr_db is None else [self.snr_db]

    @property
    def shared(self) -> bool:
        return self.cfg.link.shared_codec

    @property
    def label(self) -> str:
        snr = "SNR-adaptive" if self.snr_db is None else f"{self.snr_db:g} dB"
        pairs = "" if self.shared else ", one pair per hop"
        return f"{self.method}, r = {self.relays}, {snr}{pairs}"


@dataclass
class JudgeRun(TrainingRun):
    """An independent judge of the reproduction: a DHD or a classifier, never trained on."""

    name: str  # dhd_indep, dhd_xarch, task
    suffix: str  # of its result columns
    cfg: Config
    dir: Path

    @property
    def label(self) -> str:
        return f"judge {self.name}"

    @property
    def is_dhd(self) -> bool:
        return self.name.startswith("dhd")

    @property
    def epochs(self) -> int:
        return self.cfg.dhd.epochs if self.is_dhd else self.cfg.task.epochs


@dataclass
class Plan:
    cfg: Config
    out: Path
    dhd_dir: Path
    df_runs: list[DFRun] = field(default_factory=list)
    bases: list[DFRun] = field(default_factory=list)  # trained, never evaluated
    judges: list[JudgeRun] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # methods left out, with the reason

    @property
    def dhd_checkpoint(self) -> Path:
        return self.dhd_dir / "best.pt"


def judge_runs(cfg: Config, out: Path) -> list[JudgeRun]:
    """The independent judges ``cfg.judges`` asks for."""
    j, base = cfg.judges, to_dict(cfg)
    epochs = [f"dhd.epochs={j.dhd_epochs}"] if j.dhd_epochs is not None else []
    runs = []
    if j.dhd_seed is not None:
        runs.append(JudgeRun("dhd_indep", "_indep", load_config(
            None, [f"seed={j.dhd_seed}", *epochs], base=base), out / "judges" / "dhd_indep"))
    if j.dhd_backbone is not None:
        width = "null" if j.dhd_width is None else j.dhd_width
        overrides = [f"dhd.backbone={j.dhd_backbone}", f"dhd.width={width}",
                     f"dhd.pretrained={j.dhd_pretrained}", *epochs]
        runs.append(JudgeRun("dhd_xarch", "_xarch", load_config(None, overrides, base=base),
                             out / "judges" / "dhd_xarch"))
    if j.classifier:
        runs.append(JudgeRun("task", "", cfg, out / "judges" / "task"))
    return runs


def make_plan(cfg: Config, out: Path, lpips_usable: bool = True) -> Plan:
    """Every training run of the sweep with its derived configuration; methods with an
    ``lpips`` term are left out (and listed) when ``lpips_usable`` is false."""
    sweep = cfg.sweep
    if 0 not in sweep.relays:
        raise ConfigError("sweep.relays must include 0 (QF and warm starts use the r = 0 models)")
    plan = Plan(cfg, out, out / "dhd", judges=judge_runs(cfg, out))
    snrs: list[float | None] = [None] if sweep.snr_adaptive else list(sweep.snr_db)
    lo, hi = sweep.snr_adaptive_range or [min(sweep.snr_db), max(sweep.snr_db)]
    grid = [(r, True) for r in sorted(sweep.relays)] + [(r, False) for r in sweep.per_hop_codecs]

    def run(method: str, loss: dict[str, Any], r: int, snr: float | None, shared: bool,
            extra: list[str]) -> DFRun:
        name = (f"r{r}" if snr is None else f"r{r}_snr{snr:g}") + ("" if shared else "_perhop")
        overrides = [f"link.relays={r}", f"train.loss={flow_yaml(loss)}",
                     f"dhd.checkpoint={plan.dhd_checkpoint}",
                     f"link.shared_codec={str(shared).lower()}"]
        if snr is None:
            overrides += [f"train.snr_db_range=[{lo}, {hi}]", f"link.snr_db={(lo + hi) / 2}"]
        else:
            overrides += ["train.snr_db_range=null", f"link.snr_db={snr}"]
        return DFRun(method, loss, r, snr, load_config(None, overrides + extra, base=to_dict(cfg)),
                     out / "df" / method_slug(method) / name)

    if sweep.base_set:
        plan.bases = [run("base", {"mse": 1.0}, 0, snr, True, sweep.base_set) for snr in snrs]
    for loss in sweep.methods:
        method = method_label(loss)
        if "lpips" in loss and not lpips_usable:
            plan.dropped.append(f"`{method}` (LPIPS unavailable: no ImageNet AlexNet weights)")
            continue
        for snr in snrs:
            start = {b.snr_db: b.checkpoint for b in plan.bases}.get(snr)
            for r, shared in grid:
                extra: list[str] = []
                if sweep.warm_start and r > 0:
                    r0 = out / "df" / method_slug(method) / (
                        "r0" if snr is None else f"r0_snr{snr:g}")
                    extra = [f"train.init_from={r0 / 'best.pt'}", *sweep.warm_start_set]
                elif start is not None and r == 0 and shared:
                    extra = [f"train.init_from={start}", *sweep.base_finetune_set]
                plan.df_runs.append(run(method, loss, r, snr, shared, extra))
    return plan


def check_prerequisites(cfg: Config, lpips_required: bool) -> bool:
    """Refuse early (one clear line) when data or required weights are missing, and say
    whether LPIPS is usable. Without the ImageNet AlexNet, LPIPS is required for real data
    (the paper's headline metric) and optional (one warning, empty column, no LPIPS-trained
    method) for the synthetic presets."""
    unknown = [c for c in cfg.sweep.separation if c not in SEPARATION_CODECS]
    if unknown:
        raise ConfigError(f"sweep.separation: unknown codec {unknown[0]!r}; choose from "
                          f"{', '.join(SEPARATION_CODECS)}")
    try:
        for split in ("train", "test", "db"):
            build_dataset(cfg.data, split)
    except DataError as exc:
        raise DataError(f"reproduce cannot start: {exc}") from None
    for backbone, weights in ((cfg.dhd.backbone, cfg.dhd.pretrained),
                              (cfg.judges.dhd_backbone, cfg.judges.dhd_pretrained)):
        if backbone is not None and weights.lower() != "none":
            resolve_weights(backbone, weights)
    if cfg.eval.alexnet_weights.lower() == "none":
        return False
    if lpips_required:
        resolve_weights("alexnet", cfg.eval.alexnet_weights)
        return True
    return shared_lpips(cfg.eval.alexnet_weights, "cpu") is not None  # warns once if not


def estimate_seconds(plan: Plan, device: torch.device) -> dict[str, float]:
    """Run-time estimate from a short measurement of this machine's step times."""
    cfg = plan.cfg
    size = cfg.data.image_size
    small = device.type == "cuda" or size <= 64  # big CPU batches would take minutes to time
    batch = cfg.train.batch_size_for(0) if small else 1
    hop = bench_model("estimate", cfg.model, size, batch, device, repeats=2, train=cfg.train)
    t_hop = 1.0 / hop.train_images_per_s  # one hop forward+backward per image
    fmt = memory_format(cfg.train.channels_last)
    dhd = create_dhd(cfg.dhd, num_classes_of(cfg.data), pretrained=False).to(
        device, memory_format=fmt)
    dhd_batch = cfg.dhd.batch_size if small else 1
    x = torch.rand(dhd_batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    dhd(x).sum().backward()  # warm-up
    start = time.perf_counter()
    for _ in range(2):
        dhd(x).sum().backward()
    t_dhd = (time.perf_counter() - start) / (2 * dhd_batch)
    n_train = len(build_dataset(cfg.data, "train"))
    dhd_s = cfg.dhd.epochs * n_train * 2 * t_dhd
    df_s = 0.0
    for run in plan.bases + plan.df_runs:
        images = run.cfg.train.epochs * min(run.cfg.train.epoch_images or n_train, n_train)
        per_image = (run.relays + 1) * t_hop + (2 * t_dhd if "dhd" in run.loss else 0)
        df_s += images * per_image
    return {"dhd": dhd_s, "df": df_s, "total": dhd_s + df_s}


def separation_rows(cfg: Config, judges: list[Judge], device: torch.device,
                    seed: int) -> list[dict[str, Any]]:
    """Separation baselines: one evaluation per codec × SNR, repeated for every relay count
    over AWGN (exact decoding at each relay: quality does not depend on r); over fading the
    weakest hop sets each image's budget, so every relay count is evaluated."""
    size = cfg.data.image_size
    k = create_model(cfg.model).num_symbols(size, size)
    channel = build_channel(cfg.link.channel)
    per_relay = not isinstance(channel, AWGN)
    loader = make_loader(build_dataset(cfg.data, cfg.eval.split), cfg.train.eval_batch_size,
                         shuffle=False, seed=seed, num_workers=cfg.data.num_workers)
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


def reproduce(spec: str, out: str | Path, overrides: list[str] | None = None,
              device: str | None = None, executor: Executor | None = None) -> Path:
    """Run (or finish) the experiment described by preset/config ``spec`` into ``out``:
    ``experiment`` names the registered pipeline (see ``EXPERIMENTS.names()``); its
    trainings run on ``executor`` (default: one after another in this process)."""
    started = time.perf_counter()
    out = Path(out)
    cfg = load_config(spec, (overrides or []) + ([f"train.device={device}"] if device else []))
    pipeline = EXPERIMENTS.get(cfg.experiment)
    recorded = out / "reproduce.yaml"
    if recorded.exists():
        previous = to_dict(load_config(recorded))
        diff = [k for k in config_differences(previous, to_dict(cfg)) if k != "train.device"]
        if diff:
            raise ConfigError(f"{out} holds a reproduction with other settings ({', '.join(diff[:5])}); "
                              "use a new --out (or the same settings) so results are not mixed")
    dev = resolve_device(cfg.train.device)
    if "executor" in inspect.signature(pipeline).parameters:
        return pipeline(cfg, out, dev, started, executor=executor)
    if executor is not None and (executor.shard or not isinstance(executor, LocalExecutor)):
        raise ConfigError(f"experiment {cfg.experiment!r} runs its units locally only; drop "
                          "--executor and --shard")
    return pipeline(cfg, out, dev, started)


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
            book_dir = plan.out / "qf" / method_slug(run.method) / f"snr{snr:g}"
            qf_dirs.append((run, snr, book_dir))

            def state(run: DFRun = run, book_dir: Path = book_dir) -> str:
                have = {p.name for p in book_dir.glob("qf_*.safetensors")
                        if p.stat().st_mtime >= run.checkpoint.stat().st_mtime}
                return "done" if wanted <= have else "new"

            units.append(Unit(
                f"qf/{method_slug(run.method)}/snr{snr:g}",
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
    units: list[Unit] = []
    caches: list[Path] = []

    def add(name: str, label: str, sources: Callable[[], list[Path]],
            compute: Callable[[list[Judge]], list[dict[str, Any]]], needs: tuple[str, ...]) -> None:
        cache = plan.out / "eval" / f"{name}.csv"
        caches.append(cache)
        units.append(evaluation_unit(
            f"eval/{name}", f"[4/5] evaluation of {label}", cache,
            lambda: [*sources(), *judge_files], lambda: write_results(compute(judges()), cache),
            (*judge_keys, *needs)))

    for run in plan.df_runs:
        slug = method_slug(run.method)
        add(f"df_{slug}_{run.dir.name}", f"DF model {run.label}", lambda run=run: [run.checkpoint],
            lambda judges, run=run: evaluate_df_checkpoint(
                run.checkpoint, snr_db=run.eval_snrs, relays=[run.relays], device=str(device),
                judges=judges), (f"df/{slug}/{run.dir.name}",))
    for run, snr, book_dir in qf_dirs:
        slug = method_slug(run.method)
        add(f"qf_{slug}_snr{snr:g}", f"QF {run.method} at {snr:g} dB",
            lambda book_dir=book_dir: list(book_dir.glob("qf_*.safetensors")),
            lambda judges, run=run, book_dir=book_dir: evaluate_qf_checkpoint(
                run.checkpoint, book_dir, device=str(device), judges=judges),
            (f"qf/{slug}/snr{snr:g}",))
    if cfg.sweep.separation:
        add("separation", "the separation baselines", list,
            lambda judges: separation_rows(cfg, judges, device, cfg.eval.seed), ())
    return units, caches


@EXPERIMENTS.register("multihop-dhd")
def reproduce_multihop(cfg: Config, out: Path, dev: torch.device, started: float,
                       executor: Executor | None = None) -> Path:
    """The core paper: DHD, judges, DF models, QF codebooks, evaluation, figures, report.
    Writes ``out/reproduce.yaml`` once its prerequisites are checked."""
    recorded = out / "reproduce.yaml"
    lpips_usable = check_prerequisites(cfg, lpips_required=cfg.data.kind != "synthetic")
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, recorded)
    plan = make_plan(cfg, out, lpips_usable)
    for dropped in plan.dropped:
        log.warning("leaving out %s", dropped)

    estimate = estimate_seconds(plan, dev)
    log.info("reproduce %s -> %s on %s: DHD, %d judges, %d DF models (%s), QF %s, "
             "separation %s", cfg.name, out, dev, len(plan.judges), len(plan.df_runs),
             ", ".join(sorted({r.method for r in plan.df_runs})),
             ",".join(cfg.sweep.qf) or "none", ",".join(cfg.sweep.separation) or "none")
    log.info("estimated training time on this machine: %s (DHD %s, DF %s) plus judges and "
             "evaluation", fmt_duration(estimate["total"]), fmt_duration(estimate["dhd"]),
             fmt_duration(estimate["df"]))

    # 1.-4. DHD and judges, DF models, QF codebooks, evaluations: units of the executor
    settings = parse_settings(",".join(cfg.sweep.qf))
    units, qf_dirs = sweep_units(plan, settings)
    evaluations, caches = evaluation_units(plan, qf_dirs if settings else [], dev)
    if run_units(units + evaluations, executor):
        return out
    dhd_result = evaluate_dhd(plan.dhd_checkpoint, device=str(dev))
    results = write_results([row for cache in caches for row in read_results(cache)],
                            out / "results.csv")

    # 5. figures and report
    log.info("[5/5] figures and report")
    figures = draw_figures(read_results(results), out, cfg.sweep.figure_snr_db or None)
    report = write_report(plan, read_results(results), figures, dhd_result, out,
                          time.perf_counter() - started, estimate)
    log.info("done in %s: %s, %s, %s", fmt_duration(time.perf_counter() - started), results,
             ", ".join(str(f) for f in figures), report)
    return out
