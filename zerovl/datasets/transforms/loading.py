"""Read an image file and decode it to an (H, W, 3) uint8 RGB array.

Every failure (missing file, empty file, bytes that are no image) raises ``BadSampleError`` naming the
annotation file and row that point at the image, so a broken crawl is fixed at the source instead of
being debugged from a worker traceback.
"""
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from zerovl.registry import TRANSFORMS
from ..errors import BadSampleError


def decode_rgb(buffer: bytes) -> Optional[np.ndarray]:
    """Decode encoded image bytes to (H, W, 3) uint8 RGB; None when OpenCV cannot decode them."""
    # IMREAD_COLOR always gives 3 channels of 8 bits: grey is replicated, alpha is dropped and
    # 16-bit PNGs are scaled down, so every sample of a batch has one layout whatever its file holds.
    # (It also applies a JPEG's EXIF orientation, which PIL, used by the original code, does not.)
    bgr = cv2.imdecode(np.frombuffer(buffer, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    # OpenCV decodes to BGR; the towers and the normalisation constants expect RGB.
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def bad_image(results: dict, reason: str) -> BadSampleError:
    """The error for the image of this sample, located by the annotation row that named it."""
    return BadSampleError(reason, file=results.get('ann_file'), row=results.get('row'),
                          column='image', path=results.get('img_path'))


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load ``results['img_path']`` into ``img`` (H, W, 3 uint8 RGB), ``img_shape`` and ``ori_shape``.

    Shapes are (height, width), as in mmcv. Subclasses that fetch bytes elsewhere (an LMDB shard)
    override ``read_bytes`` only.
    """

    def read_bytes(self, results: dict) -> bytes:
        try:
            with open(results['img_path'], 'rb') as f:
                return f.read()
        except FileNotFoundError:
            raise bad_image(results, 'image file not found') from None
        except OSError as error:
            raise bad_image(results, f'image file cannot be read ({error.strerror or error})') from None

    def transform(self, results: dict) -> dict:
        buffer = self.read_bytes(results)
        # Checked before decoding: cv2.imdecode raises its own assertion on an empty buffer.
        if len(buffer) == 0:
            raise bad_image(results, 'image file is empty (0 bytes)')
        img = decode_rgb(buffer)
        if img is None:
            raise bad_image(results, f'{len(buffer)} bytes that OpenCV cannot decode as an image')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
