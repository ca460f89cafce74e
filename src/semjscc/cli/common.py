"""Shared CLI plumbing: config options, typed argument parsers (the validation layer every
command uses), and logging.

Every parser below raises ``argparse.ArgumentTypeError`` with one line saying what was
expected; the command line turns it into ``semjscc <command>: error: ...`` and exit code 2
before any work starts.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ..baselines import SEPARATION_CODECS, require_codec
from ..baselines.digital import MAX_MCS, MIN_MCS
from ..config import Config, load_config
from ..errors import ConfigError, SemjsccError
from ..evaluation.qf import parse_settings
from ..experiments.executor import Shard
from ..files import check_input
from ..registry import EXECUTORS

MAX_RELAYS = 16  # beyond the paper's 3 a warning; beyond this an error
PAPER_MAX_RELAYS = 3
log = logging.getLogger("semjscc")


def add_config_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--config", "-c", required=required,
                        help="YAML file or preset name (e.g. tiny/df, paper/df)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key, e.g. train.epochs=3")


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, args.overrides)


def _items(text: str, what: str, example: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated {what} (e.g. {example}), "
                                         f"got {text!r}")
    return items


def snr_list(text: str) -> list[float]:
    """Comma-separated finite SNRs in dB, e.g. ``-10,0,10``."""
    out = []
    for item in _items(text, "SNRs in dB", "-10,0,10"):
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not a number of dB (e.g. -10,0,10)") \
                from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"SNR {item} dB is not finite; give finite dB values "
                                             "(e.g. -10,0,10)")
        out.append(value)
    return out


def snr_value(text: str) -> float:
    """One finite SNR in dB."""
    values = snr_list(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one SNR in dB, got {text!r}")
    return values[0]


def relay_list(text: str) -> list[int]:
    """Comma-separated relay counts in 0 … MAX_RELAYS (more than 3, the paper's largest,
    gives a warning: every relay adds a full encode-decode hop)."""
    out = []
    for item in _items(text, "relay counts", "0,1,2"):
        try:
            value = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not a whole number of relays "
                                             "(e.g. 0,1,2)") from None
        if not 0 <= value <= MAX_RELAYS:
            raise argparse.ArgumentTypeError(f"relays={value} is outside 0..{MAX_RELAYS}")
        out.append(value)
    if max(out) > PAPER_MAX_RELAYS:
        log.warning("%d relays: beyond the paper's %d; each relay adds a full hop of compute",
                    max(out), PAPER_MAX_RELAYS)
    return out


def relay_value(text: str) -> int:
    values = relay_list(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one relay count, got {text!r}")
    return values[0]


def positive_int(text: str) -> int:
    """A whole number >= 1 (batch sizes, top-K, repeats, sizes)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def mcs_value(text: str) -> int | str:
    """An MCS index of 38.214 table 1 in MIN_MCS..MAX_MCS, or ``adaptive``."""
    item = text.strip().lower()
    if item == "adaptive":
        return item
    try:
        value = int(item)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an MCS; give an index "
                                         f"{MIN_MCS}..{MAX_MCS} or adaptive") from None
    if not MIN_MCS <= value <= MAX_MCS:
        why = (f"table 1's MCS 0-{MIN_MCS - 1} have rates below the 1/5 that Sionna's LDPC "
               "encoder takes" if value < MIN_MCS else
               f"38.214 table 1 carries data up to MCS {MAX_MCS}")
        raise argparse.ArgumentTypeError(f"MCS {value} is outside {MIN_MCS}..{MAX_MCS} ({why}); "
                                         f"give {MIN_MCS}..{MAX_MCS} or adaptive")
    return value


def mcs_list(text: str) -> list[int | str]:
    """Comma-separated MCS indices and/or ``adaptive``, e.g. ``9,16,adaptive``."""
    return [mcs_value(item) for item in _items(text, "MCS indices", "9,16,adaptive")]


def codec_name(text: str) -> str:
    """A separation codec the installed Pillow can encode (``webp``, ``avif``,
    ``jpeg2000``)."""
    if text not in SEPARATION_CODECS:
        raise argparse.ArgumentTypeError(f"unknown codec {text!r}; choose one of "
                                         f"{', '.join(SEPARATION_CODECS)}")
    try:
        require_codec(text)
    except SemjsccError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_baseline_args(parser: argparse.ArgumentParser, several_mcs: bool) -> None:
    """``--baseline digital --codec CODEC --mcs ...``: the digital chain (codec + 5G NR
    transport block + QAM) on the checkpoint's link instead of its DeepJSCC model."""
    parser.add_argument("--baseline", choices=("digital",), default=None,
                        help="digital: run the practical digital chain (--codec image file in "
                        "a 5G NR transport block, LDPC, QAM) over the checkpoint's channel "
                        "and k complex symbols per image, instead of its DeepJSCC model")
    parser.add_argument("--codec", type=codec_name, default=None,
                        help="--baseline digital: the image codec "
                        f"({', '.join(SEPARATION_CODECS)})")
    what = "comma-separated MCS indices and/or adaptive, e.g. 9,16,adaptive" if several_mcs \
        else "the MCS index"
    parser.add_argument("--mcs", type=mcs_list if several_mcs else mcs_value, default=None,
                        help=f"--baseline digital: {what} ({MIN_MCS}..{MAX_MCS} of 38.214 table "
                        "1; adaptive: the MCS semjscc.baselines.digital.adaptive_mcs picks "
                        "for the SNR from Sionna's BLER tables; default adaptive)")


def check_baseline_args(args: argparse.Namespace) -> None:
    """Raise ConfigError (one line: the problem and the fix) for options that do not go
    together with, or are missing for, ``--baseline digital``."""
    if args.baseline is None:
        for option, value, add in (("--codec", args.codec, "--baseline digital"),
                                   ("--mcs", args.mcs, "--baseline digital --codec CODEC")):
            if value is not None:
                raise ConfigError(f"{option} applies to the digital baseline only; add {add} "
                                  f"or drop {option}")
    elif args.codec is None:
        raise ConfigError(f"--baseline {args.baseline} needs --codec, the image codec of the "
                          f"chain: add --codec with one of {', '.join(SEPARATION_CODECS)}")


def device_spec(text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` that exists on this machine."""
    if text == "auto":
        return text
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda or "
                                         "cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"device {text!r} asked for, but this machine has "
                                             "no CUDA GPU; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"device {text!r}: only {torch.cuda.device_count()}"
                                             " CUDA device(s) here")
    elif device.type != "cpu":
        raise argparse.ArgumentTypeError(f"device {text!r} is not supported; use auto, cpu, "
                                         "cuda or cuda:N")
    return text


def _writable_parent(path: Path) -> None:
    """Raise unless the nearest existing ancestor of ``path`` is a writable directory."""
    parent = path.parent.resolve()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {path}: {parent} is a file, not a "
                                         "directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write under {parent} (read-only or no "
                                         "permission); choose another location")


def out_dir(text: str) -> str:
    """An output directory: absent (created later) or a directory; never an existing file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is an existing file, not a directory; choose "
                                         "a directory for the outputs")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"cannot write into {path} (read-only or no "
                                             "permission); choose another directory")
    else:
        _writable_parent(path)
    return text


def out_file(*suffixes: str) -> Callable[[str], str]:
    """An output file with one of ``suffixes``: never an existing directory."""

    def parse(text: str) -> str:
        path = Path(text)
        if suffixes and path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{path}: the file must end in "
                                             f"{', '.join(suffixes)}")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{path} is a directory; give a file name such as "
                                             f"{path / ('results' + (suffixes or ('.csv',))[0])}")
        if path.exists() and not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot overwrite {path} (read-only); choose "
                                             "another file")
        _writable_parent(path)
        return text

    return parse


def in_file(text: str) -> str:
    """An existing readable regular file (not a folder, FIFO or device)."""
    try:
        check_input(text)
    except SemjsccError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def qf_settings(text: str) -> str:
    """A non-empty list of N_Q:b settings (checked now, parsed by the command)."""
    try:
        if not parse_settings(text):
            raise argparse.ArgumentTypeError("expected N_Q:b settings such as 4:0.75,2:1, got "
                                             "nothing")
    except SemjsccError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def executor_kind(text: str) -> str:
    """A registered executor name (``local``, ``ray``)."""
    if text not in EXECUTORS:
        raise argparse.ArgumentTypeError(f"unknown executor {text!r}; choose one of: "
                                         f"{', '.join(EXECUTORS.names())}")
    return text


def shard_spec(text: str) -> Shard:
    """``i/n`` with 1 <= i <= n, e.g. ``2/8``."""
    try:
        return Shard.parse(text)
    except SemjsccError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def address_spec(text: str) -> str:
    """A Ray cluster address: ``auto`` or ``HOST:PORT`` (optionally ``ray://HOST:PORT``)."""
    host, _, port = text.removeprefix("ray://").rpartition(":")
    if text != "auto" and not (host and port.isdigit() and 0 < int(port) < 65536):
        raise argparse.ArgumentTypeError(f"expected a Ray address HOST:PORT (e.g. "
                                         f"10.0.0.1:6379) or auto, got {text!r}")
    return text


class ConsoleFormatter(logging.Formatter):
    """The message alone; a warning is one line that begins ``warning:`` (the command goes
    on)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno != logging.WARNING:
            return text
        return "warning: " + " ".join(line.strip() for line in text.splitlines())


def setup_logging(verbose: bool = False) -> None:
    """Console logging on stderr; under torchrun only rank 0 speaks (others log warnings
    only)."""
    level = logging.DEBUG if verbose else logging.INFO
    if int(os.environ.get("RANK", "0")) != 0:
        level = logging.WARNING
    handler = logging.StreamHandler()
    handler.setFormatter(ConsoleFormatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    warnings.showwarning = _warning_line


def _warning_line(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: object = None, line: str | None = None) -> None:
    """A Python warning (ours or a library's) as one ``warning:`` log line, not the
    interpreter's two-line form with the source line."""
    text = " ".join(str(message).split())
    logging.getLogger("semjscc").warning("%s (%s from %s)", text, category.__name__,
                                         Path(filename).name)
