"""Procedural land-cover patches for the ``synthetic-eo`` dataset (EuroSAT-like classes).

A renderer ``fn(rng, size) -> (S, S, 3) float32`` paints the reflectance of one patch from
parameters it draws from a numpy ``Generator``; :func:`render_patch` adds illumination,
haze and sensor noise and quantises to 8 bits. Coordinates are normalised (x right, y
down, in [0, 1]; frames rotate about the centre) and random fields live on lattices fixed
in those coordinates, so a patch looks alike at every size S; only the sensor noise is
drawn per pixel. Periodic patterns are attenuated by the pixel box filter (sinc).

Class cues, several deliberately close: AnnualCrop = parcels of continuous crop rows vs
PermanentCrop = rows of separate tree crowns; Pasture = smooth grass vs HerbaceousVegetation
= fine mottling; Highway = grey band with lane marks vs River = winding water band;
Industrial = few large roofs vs Residential = many small houses along streets; Forest =
crown texture; SeaLake = mostly water with fine waves.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

F32 = np.float32
Renderer = Callable[[np.random.Generator, int], np.ndarray]

PALETTES = {
    name: np.asarray(anchors, dtype=F32)
    for name, anchors in {
        "grass": [(0.29, 0.42, 0.20), (0.36, 0.47, 0.24), (0.24, 0.35, 0.17), (0.41, 0.48, 0.28)],
        "dry": [(0.55, 0.50, 0.34), (0.47, 0.44, 0.30), (0.61, 0.55, 0.40), (0.45, 0.45, 0.31)],
        "soil": [(0.50, 0.38, 0.28), (0.41, 0.33, 0.26), (0.57, 0.48, 0.37), (0.36, 0.30, 0.24)],
        "tree": [(0.10, 0.19, 0.11), (0.14, 0.24, 0.14), (0.18, 0.27, 0.13), (0.09, 0.15, 0.10)],
        "water": [(0.07, 0.16, 0.30), (0.10, 0.24, 0.33), (0.05, 0.11, 0.18), (0.16, 0.27, 0.38),
                  (0.15, 0.22, 0.20), (0.30, 0.32, 0.34)],
        "paved": [(0.36, 0.36, 0.38), (0.46, 0.45, 0.45), (0.28, 0.28, 0.30), (0.52, 0.50, 0.47)],
        "roof_large": [(0.82, 0.82, 0.84), (0.66, 0.68, 0.72), (0.55, 0.60, 0.66),
                       (0.72, 0.69, 0.62), (0.92, 0.92, 0.92)],
        "roof_small": [(0.62, 0.32, 0.26), (0.50, 0.28, 0.22), (0.56, 0.52, 0.50),
                       (0.40, 0.38, 0.38), (0.70, 0.46, 0.36), (0.80, 0.78, 0.76)],
    }.items()
}
HAZE = np.asarray((0.62, 0.66, 0.72), dtype=F32)


# ----------------------------------------------------------------------------- building blocks


@lru_cache(maxsize=16)
def _axes(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates minus 0.5: x as (1, S), y as (S, 1)."""
    c = (np.arange(size, dtype=F32) + 0.5) / size - 0.5
    return c[None, :], c[:, None]


def _frame(size: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(S, S) coordinates along (u) and across (v) direction ``angle``, origin at the centre."""
    x, y = _axes(size)
    c, s = F32(np.cos(angle)), F32(np.sin(angle))
    return x * c + y * s, y * c - x * s


@lru_cache(maxsize=128)
def _upsampler(size: int, cells: int) -> np.ndarray:
    """(S, cells + 3) Gaussian interpolation (width 0.7 cells) from a lattice over [0, 1],
    one node beyond each edge, to pixel centres; rows have unit norm (unit variance out)."""
    t = (np.arange(size) + 0.5) / size * cells
    m = np.exp(-0.5 * ((t[:, None] - np.arange(-1, cells + 2)) / 0.7) ** 2)
    m[m < 1e-6] = 0  # no subnormal float32 weights: they make matmul crawl
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(F32)


def _field(rng: np.random.Generator, size: int, cells: int, count: int = 1) -> np.ndarray:
    """(count, S, S) smooth Gaussian noise, unit variance, features about 1/cells wide."""
    m = _upsampler(size, cells)
    return m @ rng.standard_normal((count, cells + 3, cells + 3), dtype=F32) @ m.T


def _cover(distance: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased coverage of a signed distance (negative inside), edges one pixel wide."""
    return np.clip(F32(0.5) - distance * F32(size), 0, 1)


def _wave(coord: np.ndarray, period: float, phase: float, size: int) -> np.ndarray:
    """cos(2π coord / period + phase), attenuated by the pixel box filter."""
    gain = F32(np.sinc(1.0 / (size * period)))
    return gain * np.cos(coord * F32(2 * np.pi / period) + F32(phase))


def _colours(rng: np.random.Generator, palette: str, count: int, jitter: float = 0.035
             ) -> np.ndarray:
    """(count, 3) colours: random blends of two anchors of ``palette`` plus jitter."""
    anchors = PALETTES[palette]
    a, b = anchors[rng.integers(len(anchors), size=(2, count))]
    t = rng.uniform(0, 1, (count, 1)).astype(F32)
    jit = rng.normal(0, jitter, (count, 4)).astype(F32)  # brightness, then per channel
    return np.clip(a + t * (b - a) + jit[:, :1] + jit[:, 1:] * F32(0.5), 0.02, 0.98)


def _colour(rng: np.random.Generator, palette: str, jitter: float = 0.035) -> np.ndarray:
    return _colours(rng, palette, 1, jitter)[0]


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(S, S, 3) blend of images or colours ``a`` -> ``b`` by the (S, S) weight ``t``."""
    return a + (b - a) * t[..., None]


def _cells(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, w: float, h: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A randomly shifted grid of w x h cells in frame (u, v): (cell id (S, S) int, local
    u and v in [0, 1) (S, S), number of ids)."""
    su = u / F32(w) + F32(1 / w + rng.uniform())
    sv = v / F32(h) + F32(1 / h + rng.uniform())
    iu, iv = np.floor(su), np.floor(sv)
    cols = int(2 / w) + 2
    ids = iv.astype(np.int32) * cols + iu.astype(np.int32)
    return ids, su - iu, sv - iv, cols * (int(2 / h) + 2)


def _curve(rng: np.random.Generator, size: int, amplitude: tuple[float, float],
           frequency: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A winding line across the patch: (u along it, signed distance d across it), (S, S)."""
    u, v = _frame(size, rng.uniform(0, np.pi))
    a, f, p = rng.uniform(*amplitude), rng.uniform(*frequency), rng.uniform(0, 2 * np.pi)
    a2, p2 = rng.uniform(0, 0.3) * a, rng.uniform(0, 2 * np.pi)
    k, centre = F32(2 * np.pi * f), F32(rng.uniform(-0.2, 0.2))
    phase = k * u + F32(p)
    line = centre + F32(a) * np.sin(phase) + F32(a2) * np.sin(2 * phase + F32(p2))
    slope = k * (F32(a) * np.cos(phase) + F32(2 * a2) * np.cos(2 * phase + F32(p2)))
    return u, (v - line) / np.sqrt(1 + slope * slope)


# ----------------------------------------------------------------------------- classes


def pasture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth grass: faint large-scale shading, maybe two parcels with a hedge between."""
    img = np.broadcast_to(_colour(rng, "grass"), (size, size, 3))
    if rng.uniform() < 0.5:
        edge = _frame(size, rng.uniform(0, np.pi))[1] - F32(rng.uniform(-0.3, 0.3))
        img = _mix(img, _colour(rng, "grass", 0.05), _cover(edge, size))
        if rng.uniform() < 0.5:
            hedge = _cover(np.abs(edge) - F32(rng.uniform(0.005, 0.015)), size)
            img = _mix(img, _colour(rng, "tree"), hedge)
    shade = _field(rng, size, 2)[0] * F32(rng.uniform(0.02, 0.07))
    grain = _field(rng, size, 24)[0] * F32(rng.uniform(0.0, 0.04))
    return img * (1 + shade + grain)[..., None]


def herbaceous(rng: np.random.Generator, size: int) -> np.ndarray:
    """Natural vegetation: grass and dry patches mottled at several scales, dark shrubs."""
    mottle = _field(rng, size, int(rng.integers(5, 10)))[0]
    t = np.clip(0.5 + mottle * F32(rng.uniform(0.1, 0.9)), 0, 1)
    img = _mix(_colour(rng, "grass"), _colour(rng, rng.choice(["dry", "grass", "soil"])), t)
    fine = _field(rng, size, int(rng.integers(20, 30)), 2)
    shrubs = np.clip((fine[0] - F32(rng.uniform(0.8, 2.5))) * 2, 0, 1)
    img = _mix(img, _colour(rng, "tree"), shrubs * F32(rng.uniform(0.3, 0.8)))
    return img * (1 + fine[1] * F32(rng.uniform(0.015, 0.1)))[..., None]


def forest(rng: np.random.Generator, size: int) -> np.ndarray:
    """Closed canopy: crowns (bright tops, dark gaps) in two mixed tree colours."""
    kinds = _field(rng, size, 3)[0]
    img = _mix(_colour(rng, "tree"), _colour(rng, "tree"), np.clip(0.5 + kinds, 0, 1))
    crowns = _field(rng, size, int(rng.integers(16, 24)), 2)
    light = crowns[0] * F32(rng.uniform(0.12, 0.25)) + crowns[1] * F32(rng.uniform(0.05, 0.12))
    img = img * (1 + light - F32(0.25) * np.clip(-crowns[0] - 1, 0, 1))[..., None]
    if rng.uniform() < 0.25:
        clearing = np.clip((kinds - F32(rng.uniform(0.6, 1.0))) * 3, 0, 1)
        img = _mix(img, _colour(rng, rng.choice(["grass", "dry"])), clearing)
    return img


def annual_crop(rng: np.random.Generator, size: int) -> np.ndarray:
    """Parcels of crop rows: per parcel a colour, row direction, row spacing and contrast."""
    u, v = _frame(size, rng.uniform(0, np.pi))
    w, h = rng.uniform(0.2, 0.5), rng.uniform(0.25, 0.8)
    cell, lu, lv, n = _cells(rng, u, v, w, h)
    kinds = rng.choice(["soil", "grass", "dry"], size=3)
    colours = np.concatenate([_colours(rng, k, n) for k in kinds])[rng.permutation(3 * n)[:n]]
    period = rng.uniform(0.035, 0.075, n).astype(F32)
    gain = rng.uniform(0.02, 0.2, n).astype(F32) * np.sinc(1 / (size * period)).astype(F32)
    phase = rng.uniform(0, 2 * np.pi, n).astype(F32)
    across = rng.uniform(0, 1, n)[cell] < 0.7
    rows = np.cos(np.where(across, v, u) * (F32(2 * np.pi) / period[cell]) + phase[cell])
    img = colours[cell] * (1 + gain[cell] * rows)[..., None]
    if rng.uniform() < 0.5:
        margin = np.minimum(np.minimum(lu, 1 - lu) * F32(w), np.minimum(lv, 1 - lv) * F32(h))
        img = _mix(img, _colour(rng, "grass"), _cover(margin - F32(0.006), size))
    return img * (1 + _field(rng, size, 4)[0] * F32(0.04))[..., None]


def permanent_crop(rng: np.random.Generator, size: int) -> np.ndarray:
    """Orchards and vineyards: rows of crowns, round or stretched along the row until they
    touch, on bare or grassy ground."""
    u, v = _frame(size, rng.uniform(0, np.pi))
    along, across = rng.uniform(0.04, 0.08), rng.uniform(0.05, 0.09)
    radius = rng.uniform(0.25, 0.42) * across
    length = min(radius * rng.uniform(1, 2), 0.55 * along)  # half length along the row
    fu = ((u / F32(along) + F32(rng.uniform())) % 1 - F32(0.5)) * F32(along / length)
    fv = ((v / F32(across) + F32(rng.uniform())) % 1 - F32(0.5)) * F32(across / radius)
    dist = (np.sqrt(fu * fu + fv * fv) - 1) * F32(radius)
    ground = _mix(_colour(rng, rng.choice(["soil", "dry"])), _colour(rng, "grass"),
                  np.clip(0.5 + _field(rng, size, 3)[0], 0, 1))
    strips = _wave(v, across, rng.uniform(0, 2 * np.pi), size) * F32(rng.uniform(0, 0.08))
    ground = ground * (1 + strips)[..., None]
    trees = _cover(dist, size) * (_field(rng, size, 8)[0] > F32(rng.uniform(-3, -0.8)))
    crown = _colour(rng, "tree") * (1 + _field(rng, size, 20)[0] * F32(0.15))[..., None]
    return _mix(ground, crown, trees)


def _land(rng: np.random.Generator, size: int) -> np.ndarray:
    """Surroundings of roads, rivers and shores: grass, vegetation, fields or woods."""
    return LAND[int(rng.integers(len(LAND)))](rng, size)


def highway(rng: np.random.Generator, size: int) -> np.ndarray:
    """A gently curving grey road with dashed lane marks, maybe a green median."""
    img = _land(rng, size)
    u, d = _curve(rng, size, (0.0, 0.12), (0.2, 0.8))
    half = F32(rng.uniform(0.035, 0.07))
    verge = _cover(np.abs(d) - half - F32(rng.uniform(0.005, 0.02)), size)
    img = _mix(img, _colour(rng, rng.choice(["dry", "paved"])), verge * F32(0.7))
    img = _mix(img, _colour(rng, "paved"), _cover(np.abs(d) - half, size))
    white = np.asarray((0.88, 0.88, 0.86), dtype=F32)
    mark = F32(rng.uniform(0.004, 0.008))
    dashes = np.cos(u * F32(2 * np.pi * rng.uniform(7, 14)) + F32(rng.uniform(0, 2 * np.pi)))
    dashed = (dashes > F32(rng.uniform(-0.3, 0.3))).astype(F32)
    if rng.uniform() < 0.35:  # dual carriageway: green median, a dashed line per side
        img = _mix(img, _colour(rng, "grass"), _cover(np.abs(d) - half * F32(0.15), size))
        lanes = _cover(np.abs(np.abs(d) - half * F32(0.55)) - mark, size) * dashed
    else:
        lanes = _cover(np.abs(d) - mark, size) * dashed
    if rng.uniform() < 0.6:
        lanes = np.maximum(lanes, _cover(np.abs(np.abs(d) - half * F32(0.88)) - mark, size))
    return _mix(img, white, lanes * F32(rng.uniform(0.0, 1.0) ** 0.5))


def river(rng: np.random.Generator, size: int) -> np.ndarray:
    """A winding water band of varying width through land, often lined with trees."""
    img = _land(rng, size)
    u, d = _curve(rng, size, (0.02, 0.22), (0.4, 1.4))
    half = F32(rng.uniform(0.03, 0.1)) * (1 + F32(0.3) * np.sin(u * F32(rng.uniform(2, 8))))
    if rng.uniform() < 0.6:
        bank = _cover(np.abs(d) - half - F32(rng.uniform(0.01, 0.035)), size)
        img = _mix(img, _colour(rng, "tree"), bank * F32(rng.uniform(0.5, 1.0)))
    water = _colour(rng, "water") * (1 + _field(rng, size, 6)[0] * F32(0.05))[..., None]
    return _mix(img, water, _cover(np.abs(d) - half, size))


def _roofs(rng: np.random.Generator, size: int, ground: np.ndarray, cell: tuple[float, float],
           fill: tuple[float, float], palette: str, present: float, gabled: bool) -> np.ndarray:
    """Rectangular buildings, at most one per cell of a rotated grid, casting shadows; roofs
    are gabled (two halves split along the long side) or flat with faint skylight rows."""
    u, v = _frame(size, rng.uniform(0, np.pi))
    w, h = rng.uniform(*cell), rng.uniform(*cell)
    idx, lu, lv, n = _cells(rng, u, v, w, h)
    hw = rng.uniform(*fill, n).astype(F32)[idx] * F32(w / 2)
    hh = rng.uniform(*fill, n).astype(F32)[idx] * F32(h / 2)
    du, dv = (lu - F32(0.5)) * F32(w), (lv - F32(0.5)) * F32(h)
    on = rng.uniform(0, 1, n)[idx] < present
    sx, sy = F32(rng.uniform(-0.015, 0.015)), F32(rng.uniform(0.006, 0.015))
    shadow = _cover(np.maximum(np.abs(du - sx) - hw, np.abs(dv - sy) - hh), size) * on
    img = ground * (1 - F32(0.45) * shadow)[..., None]
    if gabled:
        shade = np.where(np.where(hw > hh, dv, du) > 0, F32(1.1), F32(0.9))
    else:
        shade = 1 + _wave(u, rng.uniform(0.02, 0.04), 0.0, size) * F32(rng.uniform(0, 0.06))
    roof = _colours(rng, palette, n)[idx] * shade[..., None]
    return _mix(img, roof, _cover(np.maximum(np.abs(du) - hw, np.abs(dv) - hh), size) * on)


def industrial(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large light roofs with shadows on concrete and asphalt."""
    ground = _mix(_colour(rng, "paved"), _colour(rng, rng.choice(["paved", "dry", "grass"])),
                  np.clip(0.5 + _field(rng, size, 3)[0], 0, 1))
    ground = ground * (1 + _field(rng, size, 12)[0] * F32(0.06))[..., None]
    return _roofs(rng, size, ground, (0.14, 0.4), (0.6, 0.92), "roof_large", 0.85, False)


def residential(rng: np.random.Generator, size: int) -> np.ndarray:
    """Small gabled houses in gardens along a street grid."""
    gardens = _mix(_colour(rng, "grass"), _colour(rng, "tree"),
                   np.clip(_field(rng, size, 18)[0] - F32(0.3), 0, 1))
    img = _roofs(rng, size, gardens, (0.06, 0.14), (0.45, 0.75), "roof_small", 0.9, True)
    u, v = _frame(size, rng.uniform(0, np.pi))
    bu, bv = F32(rng.uniform(0.18, 0.3)), F32(rng.uniform(0.14, 0.3))  # block sides
    edge_u = (F32(0.5) - np.abs((u / bu + F32(rng.uniform())) % 1 - F32(0.5))) * bu
    edge_v = (F32(0.5) - np.abs((v / bv + F32(rng.uniform())) % 1 - F32(0.5))) * bv
    street = _cover(np.minimum(edge_u, edge_v) - F32(rng.uniform(0.006, 0.014)), size)
    return _mix(img, _colour(rng, "paved"), street)


def sea_lake(rng: np.random.Generator, size: int) -> np.ndarray:
    """Open water with depth shading and fine waves, sometimes a shore with a beach."""
    depth = np.clip(0.5 + _field(rng, size, 2)[0] * F32(0.6), 0, 1)
    img = _mix(_colour(rng, "water"), _colour(rng, "water"), depth * F32(rng.uniform(0.2, 0.8)))
    u, v = _frame(size, rng.uniform(0, np.pi))
    waves = sum(
        _wave(u * F32(np.cos(t)) + v * F32(np.sin(t)), rng.uniform(0.035, 0.07),
              rng.uniform(0, 2 * np.pi), size)
        for t in rng.uniform(-0.4, 0.4, 2)
    )
    swell = (1 + _field(rng, size, 4)[0] * F32(0.5)) * F32(rng.uniform(0.015, 0.06))
    img = img * (1 + waves * swell)[..., None]
    if rng.uniform() < 0.5:
        coast = (v - F32(rng.uniform(0.2, 0.45)) - _field(rng, size, 3)[0] * F32(0.05))
        beach = _cover(-coast - F32(rng.uniform(0.0, 0.03)), size) * F32(0.9)
        img = _mix(img, _colour(rng, "dry", 0.06) * F32(1.3), beach)
        img = _mix(img, _land(rng, size), _cover(-coast, size))
    return img


LAND: tuple[Renderer, ...] = (pasture, herbaceous, annual_crop, forest)
RENDERERS: dict[str, Renderer] = {
    "AnnualCrop": annual_crop,
    "Forest": forest,
    "HerbaceousVegetation": herbaceous,
    "Highway": highway,
    "Industrial": industrial,
    "Pasture": pasture,
    "PermanentCrop": permanent_crop,
    "Residential": residential,
    "River": river,
    "SeaLake": sea_lake,
}


def render_patch(name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """An 8-bit (S, S, 3) uint8 patch of land-cover class ``name``.

    The class renderer's reflectance gets a random exposure, colour balance, haze and
    illumination gradient, then per-pixel sensor noise of random strength.
    """
    img = RENDERERS[name](rng, size)
    gain = F32(rng.uniform(0.8, 1.2)) * (1 + rng.normal(0, 0.04, 3).astype(F32))
    light = 1 + _field(rng, size, 1)[0] * F32(rng.uniform(0, 0.08))
    haze = F32(rng.uniform(0, 0.12))
    img = img * gain * light[..., None] * (1 - haze) + HAZE * haze
    noise = rng.standard_normal(img.shape, dtype=F32) * F32(rng.uniform(0.004, 0.03))
    return (np.clip(img + noise, 0, 1) * 255 + 0.5).astype(np.uint8)
