"""Read an image (a file, or a value in an LMDB shard) and decode it to an (H, W, 3) uint8 RGB array.

Every failure (missing file or LMDB key, a path that is no regular file, lies outside the image folder
or is larger than ``max_bytes``, empty or undecodable bytes, a format whose size cannot be read from
its header, an image too large or too elongated to be a training sample) raises ``BadSampleError``
naming the annotation file and row that point at the image, so a broken crawl is fixed at the source
instead of being debugged from a worker traceback; the dataset's bad-input policy decides whether
that stops the run or skips the sample.
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS
from ..errors import BadSampleError
from ..image_file import DEFAULT_MAX_BYTES, ImageFileRefused, read_image_file, resolve_roots
from ..lmdb_backend import image_key, read_value
from .image_header import HeaderTooLarge, peek_size

# 8192 x 8192: above any camera photo (a 50 MP frame is 8688 x 5792), below what eight workers can
# decode at once without running out of memory (200 MB of RGB each).
DEFAULT_MAX_PIXELS = 8192 * 8192
# Banners and separators (1 x 4000) carry no content a caption could describe; panoramas (10:1) load.
DEFAULT_MAX_ASPECT_RATIO = 50.0
# None before OpenCV 4.10, which decodes to BGR only.
IMREAD_COLOR_RGB = getattr(cv2, 'IMREAD_COLOR_RGB', None)


def decode_rgb(buffer: bytes) -> Optional[np.ndarray]:
    """Decode encoded image bytes to (H, W, 3) uint8 RGB; None when OpenCV cannot decode them."""
    # IMREAD_COLOR(_RGB) always gives 3 channels of 8 bits: grey is replicated, alpha is dropped (not
    # blended: a transparent pixel keeps its colour, as PIL's convert('RGB') in the original code),
    # 16-bit PNGs are scaled to 8 bits (65535 -> 255) and CMYK JPEGs converted. It also applies a
    # JPEG's EXIF orientation, which PIL, used by the original code, does not.
    # The towers and the normalisation constants expect RGB: OpenCV >= 4.10 decodes to RGB directly
    # (IMREAD_COLOR_RGB: the same pixels as BGR + cvtColor, without the extra pass over the image).
    if IMREAD_COLOR_RGB is not None:
        return cv2.imdecode(np.frombuffer(buffer, dtype=np.uint8), IMREAD_COLOR_RGB)
    bgr = cv2.imdecode(np.frombuffer(buffer, dtype=np.uint8), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def size_problem(height: int, width: int, max_pixels: Optional[int],
                 max_aspect_ratio: Optional[float]) -> Optional[str]:
    """Why an image of this size is no training sample, or None when it is fine."""
    if height <= 0 or width <= 0:
        return None  # a header that defers the size (JPEG DNL): let the decoder decide
    if max_pixels is not None and height * width > max_pixels:
        return f'image of {height}x{width} (HxW) exceeds max_pixels={max_pixels}'
    if max_aspect_ratio is not None and max(height, width) > max_aspect_ratio * min(height, width):
        return f'image of {height}x{width} (HxW) exceeds max_aspect_ratio={max_aspect_ratio}'
    return None


def check_header(buffer: bytes, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 max_aspect_ratio: Optional[float] = DEFAULT_MAX_ASPECT_RATIO):
    """((height, width), None) when the header allows decoding, (None, reason) when it does not.

    Nothing is decoded: a huge image (or a header claiming one) is refused before it is allocated,
    and bytes whose size cannot be read first are refused rather than decoded blindly (OpenCV would
    allocate whatever size they claim).
    """
    # Checked first: cv2.imdecode raises its own assertion on an empty buffer.
    if len(buffer) == 0:
        return None, 'image is empty (0 bytes)'
    try:
        size = peek_size(buffer)
    except HeaderTooLarge as error:
        return None, f'image header claims too many pixels to open ({error})'
    if size is None:
        return None, (f'{len(buffer)} bytes that OpenCV cannot decode as an image: no image header '
                      f'whose size can be read first')
    problem = size_problem(*size, max_pixels, max_aspect_ratio)
    return (None, problem) if problem else (size, None)


def decode_checked(buffer: bytes, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                   max_aspect_ratio: Optional[float] = DEFAULT_MAX_ASPECT_RATIO):
    """(RGB image, None) for good bytes, (None, reason) for bad ones; shared by loader and verifier."""
    _, problem = check_header(buffer, max_pixels, max_aspect_ratio)
    if problem:
        return None, problem
    img = decode_rgb(buffer)
    if img is None:
        return None, f'{len(buffer)} bytes that OpenCV cannot decode as an image'
    # Again after decoding: EXIF rotation, and a JPEG whose header defers its height, are only known now.
    problem = size_problem(*img.shape[:2], max_pixels, max_aspect_ratio)
    if problem:
        return None, problem
    return img, None


def bad_image(results: dict, reason: str) -> BadSampleError:
    """The error for the image of this sample, located by the annotation row that named it."""
    return BadSampleError(reason, file=results.get('ann_file'), row=results.get('row'),
                          column='image', path=results.get('img_path'))


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load the sample's image into ``img`` (H, W, 3 uint8 RGB), ``img_shape`` and ``ori_shape``.

    The bytes come from the source the data info names: ``img_bytes`` (already read, from a tar
    shard), ``lmdb_path`` + ``lmdb_key`` (an LMDB shard, see ``zerovl.datasets.lmdb_backend``) or
    ``img_path`` (a file). Shapes are (height, width),
    as in mmcv.

    A file is read only when it is a regular file of at most ``max_bytes`` whose resolved path lies
    inside the sample's image folder (``img_root``, set by ``ImageTextDataset``) or one of
    ``allowed_roots`` (see ``zerovl.datasets.image_file``); samples without ``img_root`` (paths from a
    folder listing) are not confined unless ``allowed_roots`` is given.

    Args:
        max_pixels: larger images are bad samples (checked on the header before decoding); None
            for no limit.
        max_aspect_ratio: images whose long side exceeds this many short sides are bad samples;
            None for no limit.
        max_bytes: larger files (and LMDB values) are bad samples, refused before they are read;
            None for no limit.
        allowed_roots: folders outside the image folder that image paths may resolve into (an image
            folder of symbolic links into shared storage).
    """

    def __init__(self, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 max_aspect_ratio: Optional[float] = DEFAULT_MAX_ASPECT_RATIO,
                 max_bytes: Optional[int] = DEFAULT_MAX_BYTES,
                 allowed_roots: Sequence[str] = ()) -> None:
        self.max_pixels = max_pixels
        self.max_aspect_ratio = max_aspect_ratio
        self.max_bytes = max_bytes
        self.allowed_roots = tuple(allowed_roots)
        self._resolved: Dict[Optional[str], Optional[Tuple[str, ...]]] = {}

    def roots(self, img_root: Optional[str]) -> Optional[Tuple[str, ...]]:
        """Resolved folders a path may lie in, once per image folder (realpath costs system calls)."""
        if img_root not in self._resolved:
            roots = ([img_root] if img_root else []) + list(self.allowed_roots)
            self._resolved[img_root] = resolve_roots(roots) if roots else None
        return self._resolved[img_root]

    def read_bytes(self, results: dict) -> bytes:
        if results.get('img_bytes') is not None:
            # Already read by the dataset (a tar shard member); dropped so batches do not carry it.
            data = results.pop('img_bytes')
            if self.max_bytes is not None and len(data) > self.max_bytes:
                raise bad_image(results, f'image of {len(data)} bytes exceeds max_bytes={self.max_bytes}')
            return data
        if results.get('lmdb_path'):
            return self._read_lmdb(results)
        try:
            return read_image_file(results['img_path'], self.roots(results.get('img_root')), self.max_bytes)
        except ImageFileRefused as error:
            raise bad_image(results, str(error)) from None

    def _read_lmdb(self, results: dict) -> bytes:
        path, key = results['lmdb_path'], results['lmdb_key']
        try:
            value = read_value(path, image_key(key))
        except Exception as error:  # lmdb.Error and OSError: a damaged or vanished shard
            raise bad_image(results, f'LMDB {path} cannot be read ({error})') from None
        if value is None:
            raise bad_image(results, f'key {key!r} not found in LMDB {path}')
        if self.max_bytes is not None and len(value) > self.max_bytes:
            raise bad_image(results, f'LMDB value of {len(value)} bytes exceeds max_bytes={self.max_bytes}')
        return value

    def transform(self, results: dict) -> dict:
        img, problem = decode_checked(self.read_bytes(results), self.max_pixels, self.max_aspect_ratio)
        if problem:
            raise bad_image(results, problem)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_pixels={self.max_pixels}, '
                f'max_aspect_ratio={self.max_aspect_ratio}, max_bytes={self.max_bytes}, '
                f'allowed_roots={self.allowed_roots})')
