"""Random colours for the synthetic scenes: RGB in [0, 1], float32, colour on the last axis."""

from __future__ import annotations

import numpy as np


def random_colours(
    rng: np.random.Generator, n: int, saturation: tuple[float, float], value: tuple[float, float]
) -> np.ndarray:
    """(n, 3) colours of uniform hue, saturation and value uniform in the given ranges."""
    hsv = rng.random((3, n, 1))
    sat = saturation[0] + (saturation[1] - saturation[0]) * hsv[1]
    val = value[0] + (value[1] - value[0]) * hsv[2]
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * hsv[0]) % 6.0  # HSV -> RGB, channel-wise
    rgb = val - val * sat * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return rgb.astype(np.float32)


def partner_colours(colours: np.ndarray, amount: float) -> np.ndarray:
    """Texture partners: dark colours moved ``amount`` towards white, light ones towards black."""
    light = colours.mean(axis=-1, keepdims=True) >= 0.5
    return np.where(light, colours * (1.0 - amount), colours + (1.0 - colours) * amount)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance along the last axis (0 = identical, sqrt(3) = black vs white)."""
    return np.sqrt(np.sum((a - b) ** 2, axis=-1))
