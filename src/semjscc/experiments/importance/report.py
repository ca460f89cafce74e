"""OUT/report.md of ``experiment: importance``: setup, the accuracy table of every method
under both classifiers, the ablation table, gains over ``mse`` and over separation (absolute
points and relative change), the comparison with the paper's claims, a plain verdict, the
figures and what is our design.

Every comparison uses the ``served`` rows (each test SNR served by the model trained nearest
to it) at equal R and test SNR; "separation" at a setting is the best codec there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...config import inline_yaml
from ...data import build_dataset
from ...evaluation.bootstrap import Interval, bootstrap, compare, scores_of
from ...files import write_text
from ...losses import method_label
from ...plots.semloss import ratio_label
from ..floors import floors_section, gated, importance_floors, warn_missed
from ..report import (
    diff_cell,
    interval_note,
    markdown_table,
    tally,
    time_and_device_lines,
    training_options,
    versus_digital,
)
from .figures import BASELINE, CLASSIFIER_LABELS, SEPARATION, djscc_methods, served_rows

if TYPE_CHECKING:
    from .plan import ImportancePlan

PAPER = ("the paper (abstract) claims up to 57.7 % better task performance than separate "
         "source-channel coding and up to 9.1 % better than DJSCC without semantics, at the "
         "same compression rate and SNR")
DESIGN = [
    ("Weights (per image, channel k of layer ℓ of the frozen task network T = h ∘ F_ℓ): "
     "α_k = mean_{u,v} ∂y^c/∂A_{k,u,v} at the clean image, y^c the pre-softmax logit of the "
     "true class (option: T's predicted class); w = ReLU(α)/ΣReLU(α) (options: |α|/Σ|α|, "
     "softmax(α/(τ·mean|α|))), floored: w ← (1 − β)·w + β/K. Constants: one extra "
     "forward/backward pass through T per batch, no graph kept."),
    ("Loss: L_sem = Σ_k w_k · mean_{u,v} (A_k(x) − A_k(x̂))²; training uses "
     "L = L_sem + λ·MSE with λ the `mse` weight of the method's loss mapping (λ = 0: only "
     "L_sem, the reading closest to the abstract)."),
    ("Variants: `unweighted` (w_k = 1/K), `importance-element` (W = |∂y^c/∂A|/Σ|∂y^c/∂A|), "
     "`importance-multilayer` (the sum over several layers), `pixel-importance` (the "
     "predecessor's S = max_colour |∂y^c/∂x| normalised to mean 1, floored, weighting a pixel "
     "MSE)."),
]


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _settings(rows: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(realised R, test SNR) pairs, R descending, SNR ascending."""
    return sorted({(r["realized_cr"], r["snr_db"]) for r in rows if r.get("served")},
                  key=lambda t: (-t[0], t[1]))


def _at(rows: list[dict[str, Any]], method: str) -> dict[tuple[float, float], dict[str, Any]]:
    """``method``'s row per (R, SNR): served DJSCC rows or a separation codec's rows."""
    return {(r["realized_cr"], r["snr_db"]): r
            for ratio in {r["realized_cr"] for r in rows}
            for r in served_rows(rows, method, ratio)}


def _codecs(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({r["method"] for r in rows if r["method"].startswith(SEPARATION)})


def best_separation(rows: list[dict[str, Any]], column: str) -> dict[tuple[float, float], float]:
    """The best codec's ``column`` per (R, SNR)."""
    best: dict[tuple[float, float], float] = {}
    for codec in _codecs(rows):
        for key, r in _at(rows, codec).items():
            if r.get(column) is not None:
                best[key] = max(best.get(key, -np.inf), r[column])
    return best


def gains(rows: list[dict[str, Any]], method: str, base: dict[tuple[float, float], float],
          column: str) -> list[tuple[tuple[float, float], float, float]]:
    """(setting, absolute gain, relative gain) of ``method`` over ``base`` values of
    ``column`` at every setting both have; relative = (acc − acc_base)/acc_base (NaN when
    acc_base = 0)."""
    out = []
    for key, r in sorted(_at(rows, method).items()):
        if r.get(column) is not None and key in base:
            diff = r[column] - base[key]
            out.append((key, diff, diff / base[key] if base[key] > 0 else np.nan))
    return out


def best_gain(found: list[tuple[tuple[float, float], float, float]],
              ) -> tuple[tuple[float, float], float, float]:
    """The entry of the largest relative gain (settings with a zero base rank by their
    absolute gain after every finite one)."""
    return max(found, key=lambda g: (np.isfinite(g[2]), g[2] if np.isfinite(g[2]) else g[1]))


def _rel(value: float) -> str:
    return f"{100 * value:+.1f} %" if np.isfinite(value) else "n/a (zero base)"


def _where(key: tuple[float, float]) -> str:
    return f"R = {ratio_label(key[0])}, {key[1]:g} dB"


def _gain_summary(found: list[tuple[tuple[float, float], float, float]]) -> str:
    if not found:
        return "–"
    best = best_gain(found)
    mean = np.mean([g[1] for g in found])
    helped = sum(g[1] > 0 for g in found)
    return (f"{100 * mean:+.1f} pts mean; best {100 * best[1]:+.1f} pts / "
            f"{_rel(best[2])} at {_where(best[0])}; higher at {helped}/{len(found)}")


def _budget(plan: ImportancePlan) -> str:
    """How every method's DJSCC was trained: from scratch, or from the shared MSE base."""
    run = plan.runs[0].cfg.train
    own = (f"{run.epochs} epochs, batch {run.batch_size}, lr {run.lr:g} ({run.schedule}"
           f"{training_options(run)})")
    if not plan.bases:
        return own
    base = plan.bases[0].cfg.train
    return (f"every method starts from one shared MSE model per R × train SNR (trained "
            f"{base.epochs} epochs, lr {base.lr:g}, {base.schedule}{training_options(base)}) and "
            f"trains {own} with its own loss: the same start and budget for all")


def _setup(plan: ImportancePlan, rows: list[dict[str, Any]]) -> list[str]:
    cfg = plan.cfg
    imp, task = cfg.importance, cfg.task
    sizes = {s: len(build_dataset(cfg.data, s)) for s in ("train", "val", "test")}
    clean = {n: next((r[f"accuracy_{n}_clean"] for r in rows
                      if r.get(f"accuracy_{n}_clean") is not None), None)
             for n in CLASSIFIER_LABELS}
    realised = {str(r["requested_cr"]): (r["realized_cr"], r["k"]) for r in rows
                if r.get("requested_cr") is not None}
    ratios = ", ".join(f"{r} (realised {ratio_label(cr)}, k = {k})"
                       for r, (cr, k) in realised.items())
    snrs = (f"train SNR {', '.join(f'{s:g}' for s in imp.train_snr_db)} dB, test SNR "
            f"{', '.join(f'{s:g}' for s in imp.test_snr_db)} dB")
    lines = ["## Setup", "",
             (f"* Data: `{cfg.data.kind}`, {cfg.data.image_size} px, train / val / test "
              f"{sizes['train']} / {sizes['val']} / {sizes['test']} images."),
             (f"* Task network T (the losses' network): `{task.model}` (width "
              f"{task.width or 'default'}, {task.epochs} epochs on clean images), clean test "
              f"accuracy {_num(clean['task'])}; feature layer(s) "
              f"{', '.join(imp.layers) or 'the deepest feature layer'}."),
             (f"* Independent classifier (never used in training): the task config with "
              f"{', '.join(f'`{s}`' for s in imp.independent)}, clean test accuracy "
              f"{_num(clean['indep'])}."),
             (f"* DJSCC: Bourtsoulatze et al. (2019), one model per method × R × train SNR; "
              f"R {ratios}; {snrs} over `{inline_yaml(imp.channel)}`; {_budget(plan)}. Each "
              "test SNR is served by the model whose train SNR is nearest (ties: the lower)."),
             "* Methods (loss mappings; the label lists the terms):", ""]
    lines += [f"  * `{method_label(loss)}`: `{inline_yaml(loss)}`" for loss in imp.methods]
    codecs = _codecs(rows)
    if codecs:
        lines += ["", (f"* Separation: {', '.join(codecs)} at the capacity budget "
                       "k·log2(1 + SNR) bits per image (an ideal capacity-achieving channel "
                       "code), whole file counted. An image whose budget no file meets is a "
                       "decoding failure, scored as chance (expected accuracy 1/C) for both "
                       "classifiers and left out of PSNR, SSIM and L_sem.")]
    return lines + [""]


def _accuracy_tables(rows: list[dict[str, Any]]) -> list[str]:
    methods, codecs = djscc_methods(rows), _codecs(rows)
    at = {m: _at(rows, m) for m in methods + codecs}
    lines = ["## Accuracy: every method, both classifiers", ""]
    for name, label in CLASSIFIER_LABELS.items():
        column = f"accuracy_{name}"
        table = [[ratio_label(cr), f"{snr:g}",
                  *[_num(at[m].get((cr, snr), {}).get(column)) for m in methods + codecs]]
                 for cr, snr in _settings(rows)]
        lines += [f"**Top-1 accuracy of the {label}**", "",
                  markdown_table(["R", "test SNR [dB]", *methods, *codecs], table), ""]
    return lines


def _ablation(rows: list[dict[str, Any]]) -> list[str]:
    methods = djscc_methods(rows)
    cols = ["accuracy_task", "accuracy_indep", "psnr", "ssim", "l_sem"]
    table = []
    for m in methods:
        here = list(_at(rows, m).values())
        means = [np.mean([r[c] for r in here if r.get(c) is not None] or [np.nan]) for c in cols]
        table.append([f"`{m}`", *[_num(v, 2 if c == "psnr" else 4 if c == "l_sem" else 3)
                                  for c, v in zip(cols, means)]])
    return ["## Ablation (means over every R × test SNR)", "",
            markdown_table(["method", "accuracy, T", "accuracy, independent", "PSNR [dB]", "SSIM",
                    "L_sem (importance, T)"], table), "",
            ("L_sem is the `importance` term (channel weights at T's default layer) on the test "
             "set, whatever the method trained with."), ""]


def _gains(rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    methods = [m for m in djscc_methods(rows) if m != BASELINE]
    lines = ["## Gains (absolute points and relative change (acc − acc_base)/acc_base)", ""]
    found: dict[str, Any] = {}
    table = []
    for name, label in CLASSIFIER_LABELS.items():
        column = f"accuracy_{name}"
        base = {k: r[column] for k, r in _at(rows, BASELINE).items()
                if r.get(column) is not None}
        sep = best_separation(rows, column)
        for m in methods:
            over_mse, over_sep = gains(rows, m, base, column), gains(rows, m, sep, column)
            found[(m, name)] = (over_mse, over_sep)
            table.append([f"`{m}`", label.split(" (")[0], _gain_summary(over_mse),
                          _gain_summary(over_sep)])
    if BASELINE not in djscc_methods(rows):
        return [], found
    lines += [markdown_table(["method", "classifier", "vs mse", "vs best separation codec"],
                             table), ""]
    return lines, found


def with_term(found: dict[str, Any], term: str) -> str | None:
    """The first method whose label holds loss term ``term`` (``importance+mse`` holds
    ``importance``), or None."""
    return next((m for m, _ in found if term in m.split("+")), None)


def _paper(found: dict[str, Any]) -> list[str]:
    lines = ["## Against the paper's claims", "", f"For reference, {PAPER}. We measure:", ""]
    ours = with_term(found, "importance")
    for (method, name), (over_mse, over_sep) in found.items():
        if method != ours:
            continue
        parts = []
        for what, got in (("separation", over_sep), ("mse", over_mse)):
            if got:
                key, points, rel = best_gain(got)
                parts.append(f"up to {_rel(rel)} ({100 * points:+.1f} pts) over {what} "
                             f"at {_where(key)}")
        lines.append(f"* `{method}`, {CLASSIFIER_LABELS[name]}: {'; '.join(parts) or '–'}.")
    return lines + [""]


def _pairs(rows: list[dict[str, Any]], method: str, other: str,
           column: str) -> list[tuple[tuple[float, float], Interval | None]]:
    """(setting, paired interval of ``method`` − ``other`` on ``column``) at every setting
    both have."""
    mine, theirs = _at(rows, method), _at(rows, other)
    return [(k, compare(mine[k], theirs[k], column)) for k in sorted(mine) if k in theirs]


def _best_codec(rows: list[dict[str, Any]], key: tuple[float, float], column: str) -> str | None:
    """The separation codec with the highest ``column`` at setting ``key``."""
    here = [(c, r[column]) for c in _codecs(rows) for k, r in _at(rows, c).items()
            if k == key and r.get(column) is not None]
    return max(here, key=lambda t: t[1])[0] if here else None


def verdict(found: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """One plain sentence: does the importance-weighted method raise accuracy over ``mse``
    and over the unweighted feature loss, under T and under the independent classifier, by
    more than the noise (paired intervals per setting)?"""
    ours, plain = with_term(found, "importance"), with_term(found, "unweighted")
    if ours is None:
        return "No `importance` method with an `mse` baseline in this run: no verdict."
    parts = []
    for name, label in (("task", "T"), ("indep", "the independent classifier")):
        for other in [BASELINE] + ([plain] if plain is not None else []):
            got = [i for _, i in _pairs(rows, ours, other, f"accuracy_{name}") if i is not None]
            if got:
                mean = 100 * np.mean([i.estimate for i in got])
                parts.append(f"over `{other}` under {label}: {mean:+.1f} pts on average, "
                             + tally(got))
    return f"Importance weighting (`{ours}`) " + "; ".join(parts) + "."


def _differences(rows: list[dict[str, Any]], found: dict[str, Any]) -> list[str]:
    """Every comparison of the verdict per setting, with its paired interval, under both
    classifiers; and the importance method against the best separation codec."""
    ours, plain = with_term(found, "importance"), with_term(found, "unweighted")
    if ours is None:
        return []
    pairs = [(ours, BASELINE)] + ([(ours, plain), (plain, BASELINE)] if plain else [])
    header, columns = ["R", "test SNR [dB]"], []
    for name, label in CLASSIFIER_LABELS.items():
        for a, b in pairs:
            header.append(f"{a} − {b}, {label.split(' (')[0]}")
            columns.append(dict(_pairs(rows, a, b, f"accuracy_{name}")))
    table = []
    for key in _settings(rows):
        codec = _best_codec(rows, key, "accuracy_indep")
        sep = (None if codec is None or key not in _at(rows, ours) else
               compare(_at(rows, ours)[key], _at(rows, codec)[key], "accuracy_indep"))
        table.append([ratio_label(key[0]), f"{key[1]:g}",
                      *[diff_cell(c.get(key), 100, 1) for c in columns],
                      diff_cell(sep, 100, 1) + (f" ({codec})" if codec else "")])
    return ["## Differences with their intervals", "",
            (f"Top-1 accuracy differences in points ({interval_note(rows)}; ≈: within noise). "
             f"The last column: `{ours}` − the best separation codec at that setting, "
             "independent classifier."), "",
            markdown_table([*header, f"{ours} − separation, independent"], table), ""]


def _interval(row: dict[str, Any], column: str) -> str:
    """``p [lo, hi]`` [%]: the mean and its 95 % bootstrap interval over the test images."""
    got = bootstrap(scores_of(row, column)) if scores_of(row, column) is not None else None
    return (f"{100 * row[column]:.1f}" if got is None else
            f"{100 * got.estimate:.1f} [{100 * got.low:.1f}, {100 * got.high:.1f}]")


def _digital(rows: list[dict[str, Any]]) -> list[str]:
    """The practical digital chain against every DJSCC method, independent classifier, per
    (R, SNR); one sentence per setting for the adaptive MCS."""
    chains = sorted({r["method"] for r in rows if r["method"].startswith("digital-")})
    if not chains:
        return []
    methods = djscc_methods(rows)
    at = {m: _at(rows, m) for m in methods + chains}
    lines = ["## Against the practical digital chain", "",
             ("Top-1 accuracy of the independent classifier [%] with its 95 % bootstrap "
              "interval over the test images (and seeds); the digital rows give the number of "
              "images lost (TB CRC failure or a file larger than the TB, received as "
              f"mid-gray). The sentences compare paired ({interval_note(rows)})."), ""]
    table, sentences = [], []
    for key in sorted(at[chains[0]]):
        cells = [ratio_label(key[0]), f"{key[1]:g}"]
        for m in methods + chains:
            r = at[m].get(key)
            cells.append("" if r is None or r.get("accuracy_indep") is None else
                         _interval(r, "accuracy_indep")
                         + (f" (lost {r['n_lost']})" if m in chains else ""))
        table.append(cells)
        adaptive = next((at[c][key] for c in chains if c.endswith("-adaptive")
                         and key in at[c]), None)
        best = max((m for m in methods if key in at[m]),
                   key=lambda m: at[m][key]["accuracy_indep"], default=None)
        if adaptive is not None and best is not None:
            sentences.append(versus_digital(f"R = {ratio_label(key[0])}, {key[1]:g} dB", best,
                                            at[best][key], adaptive, "accuracy_indep",
                                            "(independent classifier)"))
    header = ["R", "SNR [dB]", *methods, *chains]
    return [*lines, markdown_table(header, table), "", *sentences, ""]


def write_report(plan: ImportancePlan, rows: list[dict[str, Any]], figures: list[Path],
                 device: torch.device, seconds: float) -> Path:
    """OUT/report.md (see the module docstring)."""
    cfg = plan.cfg
    gain_lines, found = _gains(rows)
    lines = [f"# Semantic-importance DJSCC: `{cfg.name}`", "",
             ("`experiment: importance`, after \"Deep Joint Source-Channel Coding for Wireless "
              "Image Transmission with Semantic Importance\" (Sun et al., seed 002): a DJSCC "
              "trained with a feature loss weighted by the gradients of a frozen task network, "
              "against the same DJSCC trained with MSE, an unweighted feature loss, pixel-level "
              "importance, and separate source-channel coding."), "",
             "## Our design", "",
             ("The paper's formulas are unpublished; everything below is **our design**, "
              "consistent with its abstract:"), "", *[f"* {d}" for d in DESIGN], ""]
    lines += _setup(plan, rows)
    floors = importance_floors(rows, cfg.importance.floor_clean_accuracy,
                               cfg.importance.floor_mse_kept, BASELINE)
    warn_missed(floors, cfg.name)
    lines += [*floors_section(floors), "## Verdict", "", gated(verdict(found, rows), floors),
              ""]
    lines += _differences(rows, found)
    lines += _accuracy_tables(rows)
    lines += _ablation(rows)
    lines += _digital(rows)
    lines += gain_lines
    lines += _paper(found)
    lines += ["## Figures", "", *[f"* [{f.name}]({f.name})" for f in figures], ""]
    lines += time_and_device_lines(device, seconds)
    return write_text(plan.out / "report.md", "\n".join(lines))
