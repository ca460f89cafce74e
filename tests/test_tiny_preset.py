"""The tiny preset shows what DeepJSCC is for (slow: the full ~10 min reproduction).

`SEMJSCC_TINY_OUT=DIR pytest -m slow tests/test_tiny_preset.py` checks an existing run
directory instead (a re-run of a finished reproduction only re-reads it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from semjscc.cli import main
from semjscc.evaluation.results import read_results

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = Path(os.environ.get("SEMJSCC_TINY_OUT") or tmp_path_factory.mktemp("tiny") / "out")
    assert main(["reproduce", "--preset", "tiny", "--out", str(out)]) == 0
    return read_results(out / "results.csv")


def _df(rows: list[dict], method: str, relays: int) -> dict[float, dict]:
    return {r["snr_db"]: r for r in rows
            if r["protocol"] == "df" and r["method"] == method and r["relays"] == relays
            and r["shared_codec"] is True}


@pytest.mark.parametrize("relays", [0, 1, 2])
def test_psnr_degrades_gracefully_with_snr(rows: list[dict], relays: int) -> None:
    for method in ("mse", "mse+dhd"):
        by_snr = _df(rows, method, relays)
        assert by_snr[5.0]["psnr"] >= by_snr[-5.0]["psnr"] + 1.5, (method, relays)
        curve = [by_snr[s]["psnr"] for s in sorted(by_snr) if -10 <= s <= 20]
        assert all(b >= a - 0.05 for a, b in zip(curve, curve[1:])), (method, relays, curve)


def test_mse_dhd_keeps_more_hash_bits_under_every_judge(rows: list[dict]) -> None:
    for relays in (0, 1, 2):
        mse, dhd = _df(rows, "mse", relays), _df(rows, "mse+dhd", relays)
        for snr in (-10.0, -5.0, 0.0):
            for judge in ("", "_indep", "_xarch"):
                col = f"hash_bit_agreement{judge}"
                assert dhd[snr][col] > mse[snr][col], (relays, snr, col)


def test_mse_at_0_db_reaches_the_webp_line(rows: list[dict]) -> None:
    webp = [r["psnr"] for r in rows if r["method"] == "separation-webp"
            and r["snr_db"] == 0.0 and r["relays"] == 0]
    assert len(webp) == 1 and _df(rows, "mse", 0)[0.0]["psnr"] >= webp[0]


def test_qf_psnr_rises_with_the_rate(rows: list[dict]) -> None:
    qf = sorted((r["bpp"], r["psnr"]) for r in rows
                if r["protocol"] == "qf" and r["method"] == "mse" and r["snr_db"] == 0.0)
    assert len(qf) == 5
    assert all(b[1] > a[1] for a, b in zip(qf, qf[1:])), qf
