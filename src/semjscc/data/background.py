"""Synthetic scene backgrounds: smooth two-colour fields with optional faint stripes.

A background blends colours ``c0 -> c1`` by a field t(x, y) = 0.5 + (linear gradient) +
(a few low-frequency cosines), clipped to [0, 1], and adds faint luminance stripes.
Coordinates are normalised: x right, y down, both in [0, 1]. Every cosine is attenuated
by the pixel box filter (sinc), so all resolutions show the same band-limited picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .palette import random_colours

KINDS = ("gradient", "noise", "stripes")


@dataclass(frozen=True)
class Background:
    """Parameters of one background; ``waves`` rows are (fx, fy, phase, amplitude)."""

    c0: np.ndarray
    c1: np.ndarray
    gradient: tuple[float, float]
    waves: np.ndarray
    stripes: tuple[float, float, float, float]


def _wave(x: np.ndarray, y: np.ndarray, wave: np.ndarray, pixel: float) -> np.ndarray:
    """amplitude · sinc-attenuation · cos(2π(fx·x + fy·y) + phase)."""
    fx, fy, phase, amp = (float(v) for v in wave)
    gain = float(amp * np.sinc(fx * pixel) * np.sinc(fy * pixel))
    return gain * np.cos(2.0 * np.pi * (fx * x + fy * y) + phase)


def _random_wave(rng: np.random.Generator, freq: tuple[float, float], amp: float) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi)
    f = rng.uniform(*freq)
    return np.array([f * np.cos(angle), f * np.sin(angle), rng.uniform(0, 2 * np.pi), amp])


def sample_background(rng: np.random.Generator) -> Background:
    """Draw a gradient, low-frequency-noise or faintly striped background."""
    kind = KINDS[rng.integers(len(KINDS))]
    c0, c1 = random_colours(rng, 2, (0.05, 0.7), (0.15, 0.95))
    angle = rng.uniform(0.0, 2.0 * np.pi)
    slope = rng.uniform(0.6, 1.2) if kind != "noise" else 0.0
    waves = np.zeros((0, 4))
    if kind == "noise":
        waves = np.stack([_random_wave(rng, (0.5, 2.5), 0.22) for _ in range(4)])
    stripes = (0.0, 0.0, 0.0, 0.0)
    if kind == "stripes":
        fx, fy, phase, _ = _random_wave(rng, (4.0, 9.0), 0.0)
        stripes = (float(fx), float(fy), float(phase), float(rng.uniform(0.04, 0.08)))
    gradient = (float(slope * np.cos(angle)), float(slope * np.sin(angle)))
    return Background(c0, c1, gradient, waves, stripes)


def render_background(bg: Background, x: np.ndarray, y: np.ndarray, pixel: float) -> np.ndarray:
    """Colour at broadcastable coordinates ``x``, ``y`` -> array of shape (..., 3).

    ``pixel`` is the pixel pitch in normalised units (0 evaluates exact point values).
    """
    t = 0.5 + bg.gradient[0] * (x - 0.5) + bg.gradient[1] * (y - 0.5)
    for wave in bg.waves:
        t = t + _wave(x, y, wave, pixel)
    t = np.clip(t, 0.0, 1.0)[..., None]
    out = bg.c0 + (bg.c1 - bg.c0) * t
    if bg.stripes[3] > 0.0:
        out = out + _wave(x, y, np.asarray(bg.stripes), pixel)[..., None]
    return out.astype(np.float32)
