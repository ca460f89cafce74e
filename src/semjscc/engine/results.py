"""Tidy results: one CSV row per evaluated setting; the plot command reads them back."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

# Column order of results CSVs; rows may leave any metric empty (e.g. LPIPS unavailable).
RESULT_COLUMNS = [
    "method", "protocol", "relays", "snr_db", "n_q", "bits", "bpp",
    "psnr", "ms_ssim", "lpips", "hash_cos", "hash_bit_agreement", "map", "map_clean",
    "n_images", "seed", "train_relays", "train_snr_db", "checkpoint",
]


def _fmt(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_results(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows with the standard columns first, any extra columns after them. The file
    appears complete or not at all (written to a temporary file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = sorted({k for r in rows for k in r} - set(RESULT_COLUMNS))
    columns = [c for c in RESULT_COLUMNS if any(c in r for r in rows)]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns + extra)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in columns + extra})
    os.replace(tmp, path)
    return path


def _parse(value: str) -> Any:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value else number


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a results CSV with numbers parsed and empty cells as ``None``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} does not exist; run `semjscc eval ... --out {path}`")
    with path.open(newline="") as fh:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]
