"""Random multi-object scenes for the synthetic dataset: sampling and rendering.

A scene is 1-3 textured objects on a background (see :mod:`.background`). All parameters
live in normalised coordinates (x right, y down, in [0, 1]) and are drawn from a numpy
``Generator`` before any pixel exists, so one scene renders identically at every size.
Edges are anti-aliased over one pixel: coverage = clip(0.5 - distance / pixel, 0, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .background import Background, render_background, sample_background
from .palette import distance, partner_colours, random_colours
from .shapes import CLASS_NAMES, EXTENT, SHAPES

TEXTURES = ("solid", "stripes", "checker", "dots")
_OBJECTS_PER_IMAGE = (1, 2, 3)
_OBJECTS_PROB = (0.4, 0.35, 0.25)
_SIZE_RANGE = {1: (0.22, 0.34), 2: (0.17, 0.25), 3: (0.15, 0.2)}  # radius, by object count
_MIN_CONTRAST = 0.4  # RGB distance between an object's colours and the background nearby
_CANDIDATES = 24


@dataclass(frozen=True)
class SceneObject:
    """One object: class id, centre, radius ``size``, rotation (rad), fill and texture."""

    label: int
    cx: float
    cy: float
    size: float
    angle: float
    colour: np.ndarray
    colour2: np.ndarray
    texture: str
    period: float
    texture_angle: float
    shading: tuple[float, float]


@dataclass(frozen=True)
class Scene:
    background: Background
    objects: tuple[SceneObject, ...]

    def labels(self, num_classes: int = len(CLASS_NAMES)) -> np.ndarray:
        """Multi-hot float32 vector of shape (num_classes,)."""
        out = np.zeros(num_classes, dtype=np.float32)
        out[[o.label for o in self.objects]] = 1.0
        return out


def _place(rng: np.random.Generator, sizes: list[float]) -> list[tuple[float, float]]:
    """Centres inside the frame, resampled (a bounded number of times) to limit overlap."""
    centres: list[tuple[float, float]] = []
    for size in sizes:
        margin = 0.95 * size
        for _ in range(30):
            c = (rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin))
            gaps = [math.dist(c, o) - 0.9 * (size + s) for o, s in zip(centres, sizes)]
            if min(gaps, default=1.0) > 0.0:
                break
        centres.append(c)
    return centres


def _fill_colours(
    rng: np.random.Generator, bg: Background, cx: float, cy: float, size: float
) -> tuple[np.ndarray, np.ndarray]:
    """A fill colour and its texture partner, both contrasting with the background nearby.

    Of ``_CANDIDATES`` random colours, the first whose pair clears ``_MIN_CONTRAST`` against
    the background at the centre and 8 rim points wins, else the best one.
    """
    ring = np.linspace(0.0, 2.0 * np.pi, 8, endpoint=False)
    near = render_background(
        bg, np.append(cx + size * np.cos(ring), cx), np.append(cy + size * np.sin(ring), cy), 0.0
    )
    colours = random_colours(rng, _CANDIDATES, (0.25, 1.0), (0.2, 1.0))
    partners = partner_colours(colours, 0.5)
    score = np.minimum(
        distance(near[None], colours[:, None]).min(axis=1),
        distance(near[None], partners[:, None]).min(axis=1),
    )
    passing = np.flatnonzero(score >= _MIN_CONTRAST)
    pick = int(passing[0]) if passing.size else int(np.argmax(score))
    return colours[pick], partners[pick]


def sample_scene(rng: np.random.Generator) -> Scene:
    """Draw a background and 1-3 objects (classes may repeat)."""
    bg = sample_background(rng)
    count = int(rng.choice(_OBJECTS_PER_IMAGE, p=_OBJECTS_PROB))
    sizes = [float(rng.uniform(*_SIZE_RANGE[count])) for _ in range(count)]
    objects = []
    for size, (cx, cy) in zip(sizes, _place(rng, sizes)):
        label = int(rng.integers(len(CLASS_NAMES)))
        max_rot = np.deg2rad(SHAPES[CLASS_NAMES[label]].max_rotation)
        colour, colour2 = _fill_colours(rng, bg, cx, cy, size)
        texture = TEXTURES[rng.integers(len(TEXTURES))]
        period = rng.uniform(0.11, 0.18) if texture == "dots" else rng.uniform(0.09, 0.16)
        objects.append(
            SceneObject(
                label=label,
                cx=cx,
                cy=cy,
                size=size,
                angle=float(rng.uniform(-max_rot, max_rot)),
                colour=colour,
                colour2=colour2,
                texture=texture,
                period=float(period),
                texture_angle=float(rng.uniform(0.0, np.pi)),
                shading=(float(rng.uniform(-0.12, 0.12)), float(rng.uniform(-0.12, 0.12))),
            )
        )
    return Scene(bg, tuple(objects))


def _soft_square_wave(phase: np.ndarray, period: float, pixel: float) -> np.ndarray:
    """0/1 stripes of ``period`` with one-pixel anti-aliased edges, from a phase in radians."""
    gain = period / (np.pi * pixel)
    return np.clip(0.5 + gain * np.sin(phase), 0.0, 1.0)


def _texture(obj: SceneObject, u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray | None:
    """Mix weight of ``colour2`` at texture coordinates (u, v) (normalised units), or None."""
    k = 2.0 * math.pi / obj.period
    if obj.texture == "stripes":
        return _soft_square_wave(k * u, obj.period, pixel)
    if obj.texture == "checker":
        a = _soft_square_wave(k * u, obj.period, pixel)
        b = _soft_square_wave(k * v, obj.period, pixel)
        return a + b - 2.0 * a * b
    if obj.texture == "dots":
        du = (u / obj.period) % 1.0 - 0.5
        dv = (v / obj.period) % 1.0 - 0.5
        dist = np.hypot(du, dv) * obj.period - 0.3 * obj.period
        return np.clip(0.5 - dist / pixel, 0.0, 1.0)
    return None


def _draw(image: np.ndarray, obj: SceneObject, coords: np.ndarray, pixel: float) -> None:
    """Composite ``obj`` onto ``image`` (S, S, 3) in place, inside its bounding window."""
    size = image.shape[0]
    centre, reach = np.array([obj.cy, obj.cx]) * size, (EXTENT * obj.size + 2.0 * pixel) * size
    lo = np.clip(np.floor(centre - reach), 0, size).astype(int)
    hi = np.clip(np.ceil(centre + reach), 0, size).astype(int)
    dx = coords[lo[1] : hi[1]][None, :] - obj.cx
    dy = obj.cy - coords[lo[0] : hi[0]][:, None]  # y up in the object frame
    cos, sin = math.cos(obj.angle), math.sin(obj.angle)
    lx, ly = cos * dx + sin * dy, cos * dy - sin * dx
    dist = SHAPES[CLASS_NAMES[obj.label]].sdf(lx / obj.size, ly / obj.size) * obj.size
    alpha = np.clip(0.5 - dist / pixel, 0.0, 1.0)[..., None]
    tc, ts = math.cos(obj.texture_angle), math.sin(obj.texture_angle)
    weight = _texture(obj, tc * lx + ts * ly, tc * ly - ts * lx, pixel)
    fill = obj.colour
    if weight is not None:
        fill = fill + (obj.colour2 - obj.colour) * weight[..., None]
    light = 1.0 + (obj.shading[0] * lx + obj.shading[1] * ly)[..., None] / obj.size
    window = image[lo[0] : hi[0], lo[1] : hi[1]]
    window += (fill * light - window) * alpha


def render_scene(scene: Scene, size: int) -> np.ndarray:
    """Render at ``size`` x ``size`` -> float32 array (size, size, 3) in [0, 1]."""
    pixel = 1.0 / size
    coords = (np.arange(size, dtype=np.float32) + 0.5) * pixel
    image = render_background(scene.background, coords[None, :], coords[:, None], pixel)
    for obj in scene.objects:
        _draw(image, obj, coords, pixel)
    return np.clip(image, 0.0, 1.0, out=image)
