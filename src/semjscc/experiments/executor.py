"""Executors of a sweep's independent work units (trainings, codebook fits, evaluations).

A :class:`Unit` is resumable work with a stable ``key``: it reads its state from its run
directory, so every executor leaves the same directories and results, and re-running skips
finished units. Executors (registered in :data:`EXECUTORS`):

- ``local``: one unit after another in this process (the default);
- ``ray``: every ready unit as a Ray task (``pip install 'semjscc[ray]'``), one GPU per
  training unit where the cluster has GPUs, as many CPUs as this process uses threads.

``--shard i/n`` (any executor) runs only the units of shard i: units are grouped with the
units they need inside the sweep (e.g. a warm-started relay model with its r = 0 parent)
and the groups dealt round-robin in plan order. A unit that needs another shard's unfinished
unit is left for a later run; an un-sharded run finishes everything and assembles the
results.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError
from ..registry import EXECUTORS

log = logging.getLogger("semjscc.executor")

# How a unit's state is logged: trainings, and evaluations (cached, re-run when stale).
STATES = {"done": "finished, skipped", "partial": "resuming", "new": "training"}
EVAL_STATES = (("done", "finished, skipped"), ("new", "evaluating"))


@dataclass(frozen=True)
class Unit:
    """One resumable piece of work.

    Args:
        key: stable name, unique in the sweep (e.g. ``df/mse/r1``).
        label: log text, e.g. ``[2/5] DF model 3/4 (mse, r = 1, SNR-adaptive)``.
        work: does the work given its state (``partial``: resume, ``new``: start).
        state: ``done``, ``partial`` or ``new``, read from disk when the unit is ready.
        needs: keys of units that must be done first.
        group: key of the unit it is sharded with (default: its own), e.g. the parent of a
            warm start.
        gpus: GPUs the unit asks for where the executor has them.
        words: how each state is logged.
    """

    key: str
    label: str
    work: Callable[[str], Any]
    state: Callable[[], str]
    needs: tuple[str, ...] = ()
    group: str | None = None
    gpus: float = 1.0
    words: tuple[tuple[str, str], ...] = tuple(STATES.items())

    def announce(self, state: str) -> None:
        log.info("%s: %s", self.label, dict(self.words)[state])


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` with 1 <= i <= n; ConfigError otherwise."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise ConfigError(f"shard {text!r}: expected i/n, e.g. 1/4")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ConfigError(f"shard {text!r}: i must be in 1..n (n >= 1), e.g. 1/{max(count, 2)}")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, units: Sequence[Unit]) -> list[Unit]:
        """The units of this shard: the groups (see :attr:`Unit.group`) dealt round-robin in
        order of appearance."""
        order = list(dict.fromkeys(u.group or u.key for u in units))
        mine = set(order[self.index - 1::self.count])
        return [u for u in units if (u.group or u.key) in mine]


def _ordered(units: Sequence[Unit]) -> None:
    """Raise unless every unit's in-sweep needs come before it (no cycles) and no key repeats
    (a ConfigError naming it: two settings of the sweep name one unit)."""
    seen: set[str] = set()
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        repeated = next(k for k in keys if keys.count(k) > 1)
        raise ConfigError(f"two settings of the sweep name the same unit {repeated!r}; list "
                          "each ratio, SNR and method once")
    for unit in units:
        late = [k for k in unit.needs if k in keys and k not in seen]
        if late:
            raise ValueError(f"unit {unit.key} needs {late[0]}, which comes after it")
        seen.add(unit.key)


def _call(work: Callable[[str], Any], state: str, threads: int) -> None:
    """Run ``work(state)`` with the driver's thread count (same numerics everywhere)."""
    torch.set_num_threads(threads)
    work(state)


class Executor:
    """Runs units in dependency order; subclasses choose where."""

    def __init__(self, shard: Shard | None = None) -> None:
        self.shard = shard

    def run(self, units: Sequence[Unit]) -> list[Unit]:
        """Run the (shard's) units whose needs are met, in order; returns the units left
        waiting on units of other shards."""
        _ordered(units)
        by_key = {u.key: u for u in units}
        selected = self.shard.select(units) if self.shard else list(units)
        if self.shard:
            log.info("shard %s: %d of %d units", self.shard, len(selected), len(units))
        mine = {u.key for u in selected}
        finished: set[str] = set()

        def ready(unit: Unit) -> bool:
            return all(k in finished if k in mine else by_key[k].state() == "done"
                       for k in unit.needs)

        waiting = self.execute(selected, ready, finished)
        for unit in waiting:
            log.info("%s: waits for a unit of another shard, left for a later run", unit.label)
        return waiting

    def execute(self, units: list[Unit], ready: Callable[[Unit], bool],
                finished: set[str]) -> list[Unit]:
        """Run ``units`` as they become ``ready``, adding each finished key to
        ``finished``; returns the units never ready."""
        raise NotImplementedError


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """One unit after another in this process."""

    def execute(self, units: list[Unit], ready: Callable[[Unit], bool],
                finished: set[str]) -> list[Unit]:
        waiting = []
        for unit in units:
            if not ready(unit):
                waiting.append(unit)
                continue
            state = unit.state()
            unit.announce(state)
            if state != "done":
                unit.work(state)
            finished.add(unit.key)
        return waiting


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Every ready unit as a Ray task on the cluster at ``address`` (None: the Ray instance
    already initialised in this process, else a new local one)."""

    def __init__(self, shard: Shard | None = None, address: str | None = None) -> None:
        super().__init__(shard)
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'semjscc[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address)

    def execute(self, units: list[Unit], ready: Callable[[Unit], bool],
                finished: set[str]) -> list[Unit]:
        ray = self.ray
        threads = torch.get_num_threads()
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        pending = list(units)
        running: dict[Any, Unit] = {}
        while pending or running:
            skipped = False
            for unit in [u for u in pending if ready(u)]:
                pending.remove(unit)
                state = unit.state()
                unit.announce(state)
                if state == "done":
                    finished.add(unit.key)
                    skipped = True
                    continue
                task = ray.remote(num_cpus=threads, num_gpus=unit.gpus if has_gpus else 0)(_call)
                running[task.remote(unit.work, state, threads)] = unit
            if skipped:
                continue  # a skipped unit may make others ready
            if not running:
                return pending
            done, _ = ray.wait(list(running), num_returns=1)
            ray.get(done[0])  # re-raises the unit's error here
            finished.add(running.pop(done[0]).key)
        return []


def run_units(units: Sequence[Unit], executor: Executor | None = None) -> bool:
    """Run ``units`` on ``executor`` (default: local). True when only one shard ran: the
    caller stops there, and an un-sharded run finishes the sweep and writes its results."""
    executor = executor or LocalExecutor()
    waiting = executor.run(units)
    if executor.shard is None:
        return False
    log.info("shard %s done (%d units left waiting on other shards); an un-sharded run "
             "finishes the sweep and writes its results", executor.shard, len(waiting))
    return True


def build_executor(kind: str = "local", shard: Shard | None = None,
                   address: str | None = None) -> Executor:
    """The registered executor ``kind`` (``address`` only for ``ray``)."""
    if address is not None and kind != "ray":
        raise ConfigError(f"--address {address} is for --executor ray (got --executor {kind})")
    return EXECUTORS.build(kind, shard=shard, address=address)
