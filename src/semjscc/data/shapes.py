"""The synthetic object classes: 2-D signed distance functions in shape-local units.

Every SDF takes local coordinates ``(x, y)`` (broadcastable float arrays, y pointing UP,
the shape filling roughly the unit disk) and returns the signed distance to the outline:
negative inside, positive outside, in the same units. Scaling the local frame by ``s``
scales the distance by ``s``, so shapes render crisply at any resolution.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

Array = np.ndarray
SDF = Callable[[Array, Array], Array]

_SQRT3 = float(np.sqrt(3.0))
_STAR_K1 = (0.809016994375, -0.587785252292)  # (cos 36°, -sin 36°)


def _box(x: Array, y: Array, bx: float, by: float) -> Array:
    """Axis-aligned box with half sizes (bx, by)."""
    qx, qy = np.abs(x) - bx, np.abs(y) - by
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _triangle(x: Array, y: Array, r: float) -> Array:
    """Equilateral triangle, half side ``r``, centroid at 0, apex pointing +y."""
    px, py = np.abs(x) - r, y + r / _SQRT3
    fold = px + _SQRT3 * py > 0.0
    qx = np.where(fold, (px - _SQRT3 * py) / 2.0, px)
    qy = np.where(fold, (-_SQRT3 * px - py) / 2.0, py)
    qx = qx - np.clip(qx, -2.0 * r, 0.0)
    return -np.hypot(qx, qy) * np.sign(qy)


def disk(x: Array, y: Array) -> Array:
    return np.hypot(x, y) - 1.0


def ring(x: Array, y: Array) -> Array:
    return np.abs(np.hypot(x, y) - 0.71) - 0.29


def square(x: Array, y: Array) -> Array:
    return _box(x, y, 0.8, 0.8)


def triangle(x: Array, y: Array) -> Array:
    return _triangle(x, y + 0.26, 0.9)


def cross(x: Array, y: Array) -> Array:
    return np.minimum(_box(x, y, 1.0, 0.32), _box(x, y, 0.32, 1.0))


def star(x: Array, y: Array) -> Array:
    """Five-pointed star, outer radius 1.15, inner radius ratio 0.5."""
    r, rf = 1.15, 0.5
    k1x, k1y = _STAR_K1
    px, py = np.abs(x), y
    for kx, ky in ((k1x, k1y), (-k1x, k1y)):
        dot = np.maximum(kx * px + ky * py, 0.0)
        px, py = px - 2.0 * dot * kx, py - 2.0 * dot * ky
    px, py = np.abs(px), py - r
    bax, bay = -rf * k1y, rf * k1x - 1.0
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0.0, r)
    return np.hypot(px - bax * h, py - bay * h) * np.sign(py * bax - px * bay)


def bar(x: Array, y: Array) -> Array:
    """Horizontal rounded bar, 2.1 x 0.84."""
    return _box(x, y, 0.9, 0.27) - 0.15


def crescent(x: Array, y: Array) -> Array:
    return np.maximum(np.hypot(x, y) - 1.0, 0.8 - np.hypot(x - 0.5, y))


def heart(x: Array, y: Array) -> Array:
    """Heart, tip down, about 1.2 wide and 1.1 tall."""
    scale = 0.55
    px, py = np.abs(x) * scale, y * scale + 0.53
    lobe = np.hypot(px - 0.25, py - 0.75) - np.sqrt(2.0) / 4.0
    diag = np.maximum(px + py, 0.0) * 0.5
    body = np.sqrt(
        np.minimum(px**2 + (py - 1.0) ** 2, (px - diag) ** 2 + (py - diag) ** 2)
    ) * np.sign(px - py)
    return np.where(px + py > 1.0, lobe, body) / scale


def arrow(x: Array, y: Array) -> Array:
    """Arrow pointing +x: a shaft and a triangular head."""
    shaft = _box(x + 0.4, y, 0.5, 0.19)
    head = _triangle(y, x - 0.365, 0.6)
    return np.minimum(shaft, head)


class Shape(NamedTuple):
    """An object class: its SDF and the largest rotation (degrees) that keeps its identity."""

    sdf: SDF
    max_rotation: float


SHAPES: dict[str, Shape] = {
    "disk": Shape(disk, 0.0),
    "ring": Shape(ring, 0.0),
    "square": Shape(square, 20.0),
    "triangle": Shape(triangle, 25.0),
    "cross": Shape(cross, 20.0),
    "star": Shape(star, 180.0),
    "bar": Shape(bar, 25.0),
    "crescent": Shape(crescent, 180.0),
    "heart": Shape(heart, 25.0),
    "arrow": Shape(arrow, 180.0),
}
CLASS_NAMES: tuple[str, ...] = tuple(SHAPES)
EXTENT = 1.2  # every shape lies inside the local disk of this radius
