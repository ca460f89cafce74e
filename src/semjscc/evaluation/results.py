"""Tidy results: one CSV row per evaluated setting; the plot command reads them back.

Rows may carry per-image scores under the key :data:`IMAGES` ({metric: (N,) values, in
test-split order}); :func:`write_results` puts them in a twin file ``<name>.images.csv``
(columns ``row`` (the 0-based row of the results file), ``image`` (the test image's index)
and one column per metric, NaN where an image has no score), and :func:`read_results`
attaches them again as numpy arrays. The twin is written first and removed when no row has
scores, so a results file on disk never has a stale twin.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SemjsccError
from ..files import atomic_write, check_input

IMAGES = "images"  # the row key of per-image scores


class ResultsError(SemjsccError, ValueError):
    """A results CSV that cannot be read."""


def interval_columns(metrics: list[str]) -> list[str]:
    """``[m_lo, m_hi, ...]`` for each of ``metrics``: a results schema's block of 95 %
    image-bootstrap intervals (:func:`semjscc.evaluation.bootstrap.add_intervals`)."""
    return [f"{m}_{end}" for m in metrics for end in ("lo", "hi")]


# The metrics of the core paper's results that carry intervals.
HEADLINE = ["psnr", "ms_ssim", "hash_bit_agreement", "hash_bit_agreement_indep",
            "hash_bit_agreement_xarch", "accuracy", "label_agreement"]
# The core paper's results schema: every file has all of these columns, in this order, then
# any extra ones; a value that cannot be computed (e.g. LPIPS without the AlexNet weights)
# is an empty cell. The digital-chain columns (codec ... n_unreachable) are filled by
# `semjscc eval --baseline digital` (see semjscc.baselines.digital.DigitalSystem.row_fields).
RESULT_COLUMNS = [
    "method", "protocol", "channel", "equalization", "k_factor", "relays", "shared_codec",
    "snr_db", "hop_snr_db", "n_q", "bits", "bpp", "k", "realized_cr",
    "psnr", "ms_ssim", "lpips", "hash_cos", "hash_bit_agreement", "map", "map_clean",
    "hash_cos_indep", "hash_bit_agreement_indep", "map_indep", "map_clean_indep",
    "hash_cos_xarch", "hash_bit_agreement_xarch", "map_xarch", "map_clean_xarch",
    "accuracy", "label_agreement", *interval_columns(HEADLINE),
    "codec", "mcs", "mcs_index", "tb_bits", "bler", "n_lost", "n_unreachable",
    "n_images", "seed", "train_seed", "train_relays", "train_snr_db", "checkpoint",
]


def _fmt(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_results(rows: list[dict[str, Any]], path: str | Path,
                  columns: list[str] | None = None) -> Path:
    """Write rows with every schema column (``columns``, default :data:`RESULT_COLUMNS`)
    first and any extra columns after them, sorted. The file appears complete or not at all
    (written to a temporary file, then renamed)."""
    columns = RESULT_COLUMNS if columns is None else columns
    header = columns + sorted({k for r in rows for k in r} - set(columns) - {IMAGES})
    _write_images(rows, images_path(path))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in header})
    return atomic_write(path, lambda fh: fh.write(buffer.getvalue().encode()))


def images_path(path: str | Path) -> Path:
    """The per-image twin of results file ``path``: ``results.csv`` -> ``results.images.csv``."""
    return Path(path).with_suffix(".images.csv")


def _write_images(rows: list[dict[str, Any]], path: Path) -> None:
    metrics = sorted({m for r in rows for m in r.get(IMAGES, {})})
    if not metrics:
        path.unlink(missing_ok=True)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "image", *metrics])
    for i, row in enumerate(rows):
        scores = {m: np.asarray(v, dtype=float) for m, v in row.get(IMAGES, {}).items()}
        n = max((len(v) for v in scores.values()), default=0)
        for j in range(n):
            writer.writerow([i, j, *(_fmt(float(scores[m][j])) if m in scores else ""
                                     for m in metrics)])
    atomic_write(path, lambda fh: fh.write(buffer.getvalue().encode()))


def _read_images(path: Path, rows: list[dict[str, Any]]) -> None:
    """Attach the per-image scores of twin ``path`` to ``rows`` (when the twin exists)."""
    if not path.is_file():
        return
    try:
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=float, ndmin=1)
    except ValueError as exc:
        raise ResultsError(f"{path} is not a per-image scores file ({exc}); delete it or "
                           "regenerate the results") from None
    names = [n for n in table.dtype.names or () if n not in ("row", "image")]
    if not names or not len(table):
        return
    index = table["row"].astype(int)
    if index.max() >= len(rows) or index.min() < 0:
        raise ResultsError(f"{path} names row {index.max()} but its results file has "
                           f"{len(rows)} rows; regenerate the results")
    for i in np.unique(index):
        part = table[index == i]
        order = np.argsort(part["image"])
        rows[i][IMAGES] = {m: part[m][order] for m in names
                           if not np.isnan(part[m]).all()}


def _parse(value: str) -> Any:
    if value == "":
        return None
    if value in ("True", "False"):
        return value == "True"
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value else number


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a results CSV with numbers parsed and empty cells as ``None`` (and their
    per-image scores, see the module docstring); a file that is not a well-formed UTF-8 CSV
    is one :class:`ResultsError` line saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"results file {path} does not exist; write one with "
                           f"`semjscc eval ... --out {path}`")
    check_input(path, "results file")
    try:
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except UnicodeDecodeError:
        raise ResultsError(f"{path} is not UTF-8 text; results CSVs are UTF-8: re-save it as "
                           "UTF-8") from None
    except csv.Error as exc:
        raise ResultsError(f"{path} is not a CSV file ({exc}); pass a results CSV") from None
    if not rows or not any(rows[0]):
        raise ResultsError(f"{path} is empty: it has no header row; pass a results CSV")
    header = rows[0]
    twice = next((c for i, c in enumerate(header) if c in header[:i]), None)
    if twice is not None:
        where = [str(i + 1) for i, c in enumerate(header) if c == twice]
        raise ResultsError(f"{path}: column {twice!r} appears {len(where)} times in the header "
                           f"(columns {', '.join(where)}); rename or remove the duplicates")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ResultsError(f"{path}: row {number - 1} (line {number}) has {len(row)} "
                               f"fields but the header has {len(header)}; fix or regenerate "
                               "the file")
    parsed = [{k: _parse(v) for k, v in zip(header, row)} for row in rows[1:]]
    _read_images(images_path(path), parsed)
    return parsed
