"""Tidy results: one CSV row per evaluated setting; the plot command reads them back."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from ..errors import SemjsccError
from ..files import atomic_write


class ResultsError(SemjsccError, ValueError):
    """A results CSV that cannot be read."""


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
    "accuracy", "label_agreement",
    "codec", "mcs", "mcs_index", "tb_bits", "bler", "n_lost", "n_unreachable",
    "n_images", "seed", "train_relays", "train_snr_db", "checkpoint",
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
    header = columns + sorted({k for r in rows for k in r} - set(columns))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in header})
    return atomic_write(path, lambda fh: fh.write(buffer.getvalue().encode()))


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
    """Rows of a results CSV with numbers parsed and empty cells as ``None``; a file that is
    not a well-formed UTF-8 CSV is one :class:`ResultsError` line saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results file {path} does not exist; write one with "
                           f"`semjscc eval ... --out {path}`")
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
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ResultsError(f"{path}: row {number - 1} (line {number}) has {len(row)} "
                               f"fields but the header has {len(header)}; fix or regenerate "
                               "the file")
    return [{k: _parse(v) for k, v in zip(header, row)} for row in rows[1:]]
