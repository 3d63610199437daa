"""AutoAugment's pixel operations on (H, W, 3) uint8 RGB arrays, each one lookup table or one OpenCV call.

Each function computes what the mmcv function behind mmpretrain's operation of the same name computes
(``AutoAugmentRGB`` runs those), and takes the parameter that operation draws. The differences are only
where time goes: histograms by ``cv2.calcHist`` instead of ``np.histogram`` (for uint8 values the 256
bins of ``np.histogram(im, 256, (0, 255))`` hold exactly one level each), per-level results applied as
a 256-entry table with ``cv2.LUT`` instead of computed per pixel in float, and no BGR round trip: the
colour operations take the grey image with RGB weights directly, as PIL (the original code) does.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

LEVELS = np.arange(256)
# PIL's ImageFilter.SMOOTH, the "degenerate" image of PIL's (and mmcv's) Sharpness.
SMOOTH = np.array([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]]) / 13


def apply_per_channel(img: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
    """Map channel c of ``img`` through ``tables[c]`` (three 256-entry uint8 tables)."""
    return cv2.LUT(img, np.stack(tables, axis=-1).astype(np.uint8).reshape(256, 1, 3))


def histograms(img: np.ndarray) -> list:
    """The 256-bin histogram of each channel, as int64 counts (OpenCV counts in float32, exact to 2**24)."""
    return [cv2.calcHist([img], [c], None, [256], [0, 256]).ravel().astype(np.int64) for c in range(3)]


def posterize(img: np.ndarray, bits: int) -> np.ndarray:
    shift = 8 - bits
    return cv2.LUT(img, ((LEVELS >> shift) << shift).astype(np.uint8))


def solarize(img: np.ndarray, thr: float) -> np.ndarray:
    return cv2.LUT(img, np.where(LEVELS < thr, LEVELS, 255 - LEVELS).astype(np.uint8))


def invert(img: np.ndarray) -> np.ndarray:
    return cv2.bitwise_not(img)


def auto_contrast_table(histogram: np.ndarray) -> np.ndarray:
    """Stretch the channel's [lowest, highest] level to [0, 255]; a flat channel is left as it is."""
    present = np.flatnonzero(histogram)
    low, high = present[0], present[-1]
    if low >= high:
        return LEVELS
    scale = 255.0 / (high - low)
    # Truncated, not rounded, to uint8: mmcv casts the float result with astype.
    return np.clip(LEVELS * scale - low * scale, 0, 255).astype(np.uint8)


def auto_contrast(img: np.ndarray) -> np.ndarray:
    return apply_per_channel(img, [auto_contrast_table(h) for h in histograms(img)])


def equalize_table(histogram: np.ndarray) -> np.ndarray:
    """PIL's equalisation of one channel: levels spread by the cumulative histogram, the top bin excluded."""
    nonzero = histogram[histogram > 0]
    step = (np.sum(nonzero) - nonzero[-1]) // 255
    if not step:
        return LEVELS
    table = (np.cumsum(histogram) + step // 2) // step
    return np.minimum(np.concatenate([[0], table[:-1]]), 255)


def equalize(img: np.ndarray) -> np.ndarray:
    return apply_per_channel(img, [equalize_table(h) for h in histograms(img)])


def grey(img: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma with RGB weights (0.299, 0.587, 0.114), rounded as OpenCV rounds it."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def colour(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image: 0 is grey, 1 the image, above 1 more saturated (PIL's Color)."""
    return cv2.addWeighted(img, factor, cv2.cvtColor(grey(img), cv2.COLOR_GRAY2RGB), 1 - factor, 0)


def contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean grey level, one table for the whole image (PIL's Contrast).

    mmcv blends in float32 with cv2.addWeighted, clips and truncates; the table is that same call on
    the 256 levels, so each level maps as it would in place.
    """
    mean = round(np.sum(grey(img)) / (img.shape[0] * img.shape[1]))
    levels = LEVELS.astype(np.float32).reshape(1, 256)
    table = cv2.addWeighted(levels, factor, np.full_like(levels, mean), 1 - factor, 0)
    return cv2.LUT(img, np.clip(table, 0, 255).astype(np.uint8).reshape(256))


def sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the smoothed image (PIL's Sharpness, its border filtered too, as mmcv does)."""
    smooth = cv2.filter2D(img, -1, SMOOTH)
    sharpened = cv2.addWeighted(img.astype(np.float32), factor, smooth.astype(np.float32), 1 - factor, 0)
    return np.clip(sharpened, 0, 255).astype(np.uint8)


def rotate(img: np.ndarray, angle: float, fill: Sequence[int], interpolation: int = cv2.INTER_NEAREST,
           center: Optional[Tuple[float, float]] = None, scale: float = 1.0) -> np.ndarray:
    """Rotate by ``angle`` degrees clockwise about ``center`` (default: the image's), keeping the size;
    corners get ``fill``."""
    height, width = img.shape[:2]
    if center is None:
        center = ((width - 1) * 0.5, (height - 1) * 0.5)
    matrix = cv2.getRotationMatrix2D(center, -angle, scale)
    return cv2.warpAffine(img, matrix, (width, height), flags=interpolation, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(fill))


def shear(img: np.ndarray, magnitude: float, direction: str, fill: Sequence[int],
          interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """x' = x + magnitude * y (horizontal) or y' = y + magnitude * x (vertical); uncovered pixels get ``fill``."""
    if direction == 'horizontal':
        matrix = np.float32([[1, magnitude, 0], [0, 1, 0]])
    else:
        matrix = np.float32([[1, 0, 0], [magnitude, 1, 0]])
    height, width = img.shape[:2]
    return cv2.warpAffine(img, matrix, (width, height), borderValue=tuple(fill)[:3], flags=interpolation)
