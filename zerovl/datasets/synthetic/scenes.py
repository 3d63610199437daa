"""Rendering of the synthetic scenes: one shape, in one colour, at one quadrant and one size.

The vocabulary of concepts (shapes, colours, positions, sizes) is shared with the caption grammars and
the zero-shot prompts through ``zerovl/utils/synthetic_vocabulary.py``.
"""
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from zerovl.utils.synthetic_vocabulary import COLOURS, DOMAINS, POSITIONS, SHAPES, SIZES  # noqa: F401

JPEG_QUALITY = 95


@dataclass(frozen=True)
class Concept:
    shape: str
    colour: str
    position: str
    size: str


# Fixed enumeration order: a concept's index must not depend on dict or set iteration.
ALL_CONCEPTS: Tuple[Concept, ...] = tuple(
    Concept(shape, colour, position, size)
    for shape, colour, position, size in itertools.product(SHAPES, COLOURS, POSITIONS, SIZES))


# --------------------------------------------------------------------------------------------------------
# Caption grammars
# --------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------

# Shapes are drawn at this multiple of the output size and area-downsampled: cheap anti-aliasing that
# works the same for every shape and for the outline.
_SUPERSAMPLE = 4


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    theta = math.radians(degrees)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return points @ rot.T


def _star_points(radius: float, inner_ratio: float = 0.45, arms: int = 5) -> np.ndarray:
    angles = -math.pi / 2 + np.arange(2 * arms) * math.pi / arms  # first arm points up
    radii = np.where(np.arange(2 * arms) % 2 == 0, radius, radius * inner_ratio)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _box(half_w: float, half_h: float) -> np.ndarray:
    return np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])


def _shape_polygons(shape: str, r: float) -> List[np.ndarray]:
    """Polygons (centred at the origin, unrotated) whose union is the shape; circles are handled apart."""
    if shape == 'square':
        return [_box(0.8 * r, 0.8 * r)]
    if shape == 'triangle':
        # The outer points of a 3-armed star: an equilateral triangle pointing up.
        return [_star_points(r, inner_ratio=1.0, arms=3)[::2]]
    if shape == 'star':
        return [_star_points(r)]
    if shape == 'cross':
        return [_box(r, 0.3 * r), _box(0.3 * r, r)]
    if shape == 'diamond':
        # Narrower than tall, so a diamond is not merely a rotated square.
        return [np.array([[0.0, -r], [0.62 * r, 0.0], [0.0, r], [-0.62 * r, 0.0]])]
    if shape == 'bar':
        return [_box(r, 0.32 * r)]
    raise ValueError(f'unknown shape {shape!r}')


def shape_mask(shape: str, centre: Tuple[float, float], radius: float, angle: float, size: int) -> np.ndarray:
    """Binary uint8 mask of the shape at ``_SUPERSAMPLE`` x ``size`` resolution."""
    scale = _SUPERSAMPLE
    mask = np.zeros((size * scale, size * scale), np.uint8)
    cx, cy = centre[0] * scale, centre[1] * scale
    r = radius * scale
    if shape in ('circle', 'ring'):
        cv2.circle(mask, (round(cx), round(cy)), round(r), 255, -1)
        if shape == 'ring':
            cv2.circle(mask, (round(cx), round(cy)), round(0.55 * r), 0, -1)
        return mask
    for polygon in _shape_polygons(shape, r):
        points = _rotate(polygon, angle) + (cx, cy)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    return mask


def _downsample_alpha(mask: np.ndarray, size: int) -> np.ndarray:
    alpha = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
    return alpha.astype(np.float32)[..., None] / 255.0


def _outline_mask(mask: np.ndarray, thickness: int) -> np.ndarray:
    # Inner band of the shape (mask minus its erosion): outlines rings on both edges too.
    kernel = np.ones((2 * thickness + 1, 2 * thickness + 1), np.uint8)
    return cv2.subtract(mask, cv2.erode(mask, kernel))


def _composite(image: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return image * (1.0 - alpha) + colour * alpha


def light_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Plain light grey with a faint random tint (domain A)."""
    base = rng.uniform(215, 245) + rng.uniform(-5, 5, size=3)
    return np.broadcast_to(base.astype(np.float32), (size, size, 3)).copy()


def dark_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dark grey with Gaussian noise or sinusoidal stripes of random angle and period (domain B)."""
    base = (rng.uniform(20, 50) + rng.uniform(-5, 5, size=3)).astype(np.float32)
    image = np.broadcast_to(base, (size, size, 3)).copy()
    if rng.random() < 0.5:
        image += rng.normal(0.0, 10.0, size=(size, size, 1)).astype(np.float32)
    else:
        theta = rng.uniform(0.0, math.pi)
        period = rng.uniform(4.0, 10.0) * size / 64.0
        phase = rng.uniform(0.0, 2 * math.pi)
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        wave = np.sin(2 * math.pi * (xs * math.cos(theta) + ys * math.sin(theta)) / period + phase)
        image += (14.0 * wave)[..., None] + rng.normal(0.0, 4.0, size=(size, size, 1)).astype(np.float32)
    return image


def _placement(rng: np.random.Generator, concept: Concept, size: int) -> Tuple[Tuple[float, float], float]:
    """Centre and radius such that the whole shape stays inside its quadrant."""
    low, high = (0.09, 0.12) if concept.size == 'small' else (0.17, 0.21)
    radius = rng.uniform(low, high) * size
    quarter = size / 4.0
    qx = quarter if concept.position.endswith('left') else 3 * quarter
    qy = quarter if concept.position.startswith('top') else 3 * quarter
    jitter = max(0.0, quarter - 1.05 * radius - 1.0)
    return (qx + rng.uniform(-jitter, jitter), qy + rng.uniform(-jitter, jitter)), radius


def render_scene(concept: Concept, domain: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Render one image as an RGB uint8 array of shape (size, size, 3)."""
    if domain not in DOMAINS:
        raise ValueError(f'unknown domain {domain!r}; expected one of {DOMAINS}')
    image = light_background(rng, size) if domain == 'synth_a' else dark_background(rng, size)
    centre, radius = _placement(rng, concept, size)
    angle = rng.uniform(-12.0, 12.0)  # small: a square tilted by 45 degrees would read as a diamond
    fill = np.clip(np.array(COLOURS[concept.colour], np.float32) + rng.uniform(-14, 14, size=3), 0, 255)
    mask = shape_mask(concept.shape, centre, radius, angle, size)
    image = _composite(image, _downsample_alpha(mask, size), fill)
    if domain == 'synth_b':
        outline = 0.45 * fill + 0.55 * 255.0
        thickness = _SUPERSAMPLE * max(1, round(size / 64))
        image = _composite(image, _downsample_alpha(_outline_mask(mask, thickness), size), outline)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    # OpenCV encodes BGR; converting here keeps RGB everywhere else, and a reader using cv2.imread +
    # cvtColor(BGR2RGB) (or PIL) gets the intended colours back.
    ok, buffer = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f'JPEG encoding failed for {path}')
    path.write_bytes(buffer.tobytes())
