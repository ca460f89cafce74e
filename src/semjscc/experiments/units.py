"""Executor units shared by the experiments: a classifier trained on clean images and the
DJSCC trainings of a sweep, each resumable from its run directory (:func:`run_state`), and
evaluations, each cached in one file (:func:`fresh`).

Units are keyed by exact values: a compression ratio by its fraction (``2/12`` and ``1/6``
are one unit), an SNR (or another real-valued setting) by its value up to
:data:`SNR_TOLERANCE_DB` and its run-directory spelling (``f"{v:g}"``). A sweep that lists
one unit twice is refused when the plan is checked, before anything is written
(:func:`check_distinct_ratios`, :func:`check_distinct_values`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..checkpoint import load_checkpoint
from ..config import Config, ConfigError, parse_ratio
from ..evaluation.results import write_results
from ..training.jscc import train_jscc
from ..training.task import train_task
from .executor import EVAL_STATES, Unit

T = TypeVar("T")
R = TypeVar("R", bound="TrainingRun")

# Two SNRs (dB) closer than this name the same unit of a sweep.
SNR_TOLERANCE_DB = 1e-3


def check_distinct_ratios(key: str, ratios: Sequence[str]) -> None:
    """ConfigError (naming both values and ``key``) when two of ``ratios`` are the same
    fraction, e.g. ``2/12`` and ``1/6``."""
    seen: dict[Fraction, str] = {}
    for ratio in ratios:
        value = parse_ratio(ratio)
        if value in seen:
            raise ConfigError(f"{key}: {seen[value]!r} and {ratio!r} are the same compression "
                              f"ratio ({value.numerator}/{value.denominator}), one unit of the "
                              "sweep; list each ratio once")
        seen[value] = ratio


def check_distinct_values(key: str, values: Sequence[float], unit: str = "dB",
                          tolerance: float = SNR_TOLERANCE_DB) -> None:
    """ConfigError (naming both values and ``key``) when two of ``values`` are one unit:
    within ``tolerance`` of each other, or spelled alike in run-directory names
    (``f"{v:g}"``)."""
    for i, value in enumerate(values):
        for other in values[:i]:
            close = abs(float(value) - float(other)) <= tolerance
            if close or f"{value:g}" == f"{other:g}":
                why = (f"within {tolerance:g} {unit}, the tolerance of unit keys" if close
                       else f"both named {value:g} in run directories")
                raise ConfigError(f"{key}: {other!r} and {value!r} {unit} are one unit of the "
                                  f"sweep ({why}); list each value once")


def check_distinct_names(key: str, names: Sequence[Hashable]) -> None:
    """ConfigError when ``names`` (labels that name run directories) repeat one."""
    seen: set[Hashable] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{key}: {name!r} is listed twice (one unit of the sweep); list "
                              "each once")
        seen.add(name)


def run_state(run_dir: Path, epochs: int) -> str:
    """``done`` (all ``epochs``, or stopped early on purpose), ``partial`` (resumable) or
    ``new``."""
    last = run_dir / "last.pt"
    if not last.exists():
        return "new"
    state = load_checkpoint(last)
    return "done" if int(state["epoch"]) >= epochs or state.get("finished") else "partial"


def fresh(cache: Path, sources: list[Path]) -> bool:
    """Whether ``cache`` exists and is newer than every file of ``sources``."""
    return cache.exists() and all(cache.stat().st_mtime >= p.stat().st_mtime for p in sources)


def method_slug(method: str) -> str:
    """A method label as a directory name: ``mse+dhd`` -> ``mse_dhd``."""
    return method.replace("+", "_")


class PerProcess(Generic[T]):
    """``build()``, run on the first call in each process and kept there (the judges, a
    rendered test split): units sent to other processes (Ray) carry the recipe, not the
    value."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: list[T] = []

    def __call__(self) -> T:
        if not self._value:
            self._value.append(self._build())
        return self._value[0]

    def __getstate__(self) -> dict[str, Any]:
        return {"_build": self._build, "_value": []}


class TrainingRun(ABC):
    """Base of the experiments' training records (dataclasses giving ``cfg``, the run's
    resolved config, and ``dir``, its run directory): the checkpoint it leaves and its log
    label."""

    cfg: Config
    dir: Path

    @property
    def checkpoint(self) -> Path:
        """The run's best checkpoint, ``dir/best.pt``."""
        return self.dir / "best.pt"

    @property
    def seed_suffix(self) -> str:
        """``_seed<s>`` when the sweep trains several seeds (``sweep.seeds``), else empty:
        what names its directory and its caches apart from the other seeds'."""
        return f"_seed{self.cfg.seed}" if self.cfg.sweep.seeds else ""

    @property
    @abstractmethod
    def label(self) -> str:
        """What the logs call the run, e.g. ``mse, r = 1, 5 dB``."""


def seeded(run: TrainingRun, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` of ``run``'s model, each with its training seed (``train_seed``)."""
    return [{**row, "train_seed": run.cfg.seed} for row in rows]


def classifier_unit(key: str, label: str, cfg: Config, run_dir: Path) -> Unit:
    """``train-task`` of ``cfg`` into ``run_dir`` as the unit ``key``."""
    return Unit(key, label, lambda state: train_task(cfg, run_dir, resume=state == "partial"),
                lambda: run_state(run_dir, cfg.task.epochs))


def djscc_units(runs: Sequence[TrainingRun], root: Path, stage: str,
                needs: tuple[str, ...] = ()) -> list[Unit]:
    """One unit per run (key ``djscc/<its directory under root>``, label ``<stage> DJSCC i/n
    (<run label>)``), each needing the units ``needs`` and, when it starts from another run
    of ``runs`` (``train.init_from``), that run's unit (which must come earlier)."""
    keys = {run.checkpoint: f"djscc/{run.dir.relative_to(root)}" for run in runs}

    def parent(run: TrainingRun) -> tuple[str, ...]:
        start = run.cfg.train.init_from
        return (keys[Path(start)],) if start and Path(start) in keys else ()

    return [Unit(keys[run.checkpoint], f"{stage} DJSCC {i}/{len(runs)} ({run.label})",
                 lambda state, run=run: train_jscc(run.cfg, run.dir, resume=state == "partial"),
                 lambda run=run: run_state(run.dir, run.cfg.train.epochs),
                 needs=(*needs, *parent(run)))
            for i, run in enumerate(runs, start=1)]


def evaluation_unit(key: str, label: str, cache: Path, sources: Callable[[], list[Path]],
                    write: Callable[[], Any], needs: tuple[str, ...]) -> Unit:
    """The unit ``key`` that runs ``write()`` (which writes ``cache``), done while ``cache``
    is newer than every file of ``sources()``."""
    return Unit(key, label, lambda _: write(),
                lambda: "done" if fresh(cache, sources()) else "new", needs=needs,
                words=EVAL_STATES)


class CachedEvaluations(Generic[T]):
    """An experiment's evaluations as executor units, in results order. :meth:`add` makes
    the unit ``eval/<key>``, which writes ``rows(scoring())`` to ``OUT/eval/<key>.csv``
    (``columns`` first, when given) and is done while that file is newer than its sources
    and every file of ``common`` (the networks that score); every unit needs ``needs``.
    ``scoring`` is built once per process."""

    def __init__(self, out: Path, scoring: PerProcess[T], common: Sequence[Path],
                 needs: tuple[str, ...], columns: list[str] | None = None) -> None:
        self.out, self.scoring, self.common = out, scoring, list(common)
        self.needs, self.columns = needs, columns
        self.units: list[Unit] = []
        self.caches: list[Path] = []

    def add(self, key: str, label: str, sources: Callable[[], list[Path]],
            rows: Callable[[T], list[dict[str, Any]]], needs: tuple[str, ...] = ()) -> None:
        cache = self.out / "eval" / f"{key}.csv"
        common, scoring, columns = self.common, self.scoring, self.columns  # not self: a
        self.caches.append(cache)  # unit sent to another process carries only what it uses
        self.units.append(evaluation_unit(
            f"eval/{key}", label, cache, lambda: [*sources(), *common],
            lambda: write_results(rows(scoring()), cache, columns), (*self.needs, *needs)))

    def add_djscc(self, runs: Sequence[R], root: Path, stage: str,
                  rows: Callable[[R, T], list[dict[str, Any]]]) -> None:
        """One evaluation per trained DJSCC of ``runs``, keyed (and needing the training
        unit) ``djscc/<its directory under root>``, as :func:`djscc_units` keys them."""
        for i, run in enumerate(runs, start=1):
            key = f"djscc/{run.dir.relative_to(root)}"
            self.add(key, f"{stage} evaluating DJSCC {i}/{len(runs)} ({run.label})",
                     lambda run=run: [run.checkpoint],
                     lambda scoring, run=run: rows(run, scoring), (key,))
