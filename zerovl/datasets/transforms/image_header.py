"""Read an image's size from its header, before decoding it.

A decoder allocates the whole image first: a 20000 x 20000 crawl result (or a corrupt header that
claims it) costs 1.2 GB in a DataLoader worker before anything can reject it, and eight workers doing
that at once end a training run. Reading the size from the header costs microseconds and lets the
loader refuse such an image first.

JPEG, PNG, GIF, BMP, WebP and TIFF (the formats of web crawls) are parsed here by hand. Any other
format goes to Pillow, whose ``Image.open`` reads only the header (the pixels are decoded by
``load()``, never called here). Bytes whose size neither can read give None, and the loader refuses
them instead of handing them to OpenCV blindly: OpenCV would allocate whatever they claim.
"""
import io
import warnings
from typing import Optional, Tuple

Size = Tuple[int, int]  # (height, width)

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are other tables.
_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
# Markers without a length field: restart markers, start/end of image, TEM.
_JPEG_STANDALONE = frozenset((0x01, *range(0xD0, 0xDA)))
_JPEG_START_OF_SCAN = 0xDA
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
_TIFF_SHORT, _TIFF_LONG = 3, 4


class HeaderTooLarge(ValueError):
    """Pillow refused to even open the header: it claims more pixels than its decompression-bomb limit."""


def peek_size(buffer: bytes) -> Optional[Size]:
    """(height, width) as the header states it, or None for an unknown format or an unreadable header.

    Raises ``HeaderTooLarge`` when only Pillow knows the format and its header claims a bomb.
    """
    if buffer.startswith(_PNG_SIGNATURE):
        return _png_size(buffer)
    if buffer.startswith(b'\xff\xd8'):
        return _jpeg_size(buffer)
    if buffer[:6] in (b'GIF87a', b'GIF89a'):
        return _gif_size(buffer)
    if buffer.startswith(b'BM'):
        return _bmp_size(buffer)
    if buffer.startswith(b'RIFF') and buffer[8:12] == b'WEBP':
        return _webp_size(buffer)
    if buffer[:4] in (b'II*\x00', b'MM\x00*'):
        return _tiff_size(buffer)
    return _pil_size(buffer)


def _png_size(buffer: bytes) -> Optional[Size]:
    # The IHDR chunk must come first: length (4), b'IHDR', width (4), height (4), big-endian.
    if len(buffer) < 24 or buffer[12:16] != b'IHDR':
        return None
    width = int.from_bytes(buffer[16:20], 'big')
    height = int.from_bytes(buffer[20:24], 'big')
    return height, width


def _jpeg_size(buffer: bytes) -> Optional[Size]:
    """Walk the marker segments up to the first start-of-frame, which holds the frame's size."""
    position = 2
    end = len(buffer)
    while position + 1 < end:
        if buffer[position] != 0xFF:
            # Extraneous bytes between segments: libjpeg skips to the next marker (with a warning)
            # and decodes the image, so the walk does the same to read the size it will use.
            position = buffer.find(b'\xff', position)
            if position < 0:
                return None
            continue
        marker = buffer[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if position + 4 > end:
            return None
        length = int.from_bytes(buffer[position + 2:position + 4], 'big')
        if marker in _JPEG_SOF:
            if position + 9 > end:
                return None
            # Segment: length (2), precision (1), height (2), width (2).
            height = int.from_bytes(buffer[position + 5:position + 7], 'big')
            width = int.from_bytes(buffer[position + 7:position + 9], 'big')
            return height, width
        if marker == _JPEG_START_OF_SCAN or length < 2:
            return None  # image data before any frame header, or a corrupt length
        position += 2 + length  # always moves forward: the walk ends on any input
    return None


def _gif_size(buffer: bytes) -> Optional[Size]:
    # Logical screen descriptor right after the signature: width (2), height (2), little-endian.
    # Decoders paint every frame on a canvas of this size.
    if len(buffer) < 10:
        return None
    return int.from_bytes(buffer[8:10], 'little'), int.from_bytes(buffer[6:8], 'little')


def _bmp_size(buffer: bytes) -> Optional[Size]:
    # File header (14 bytes), then the DIB header, which starts with its own size. The old OS/2
    # header (12 bytes) stores 16-bit sizes; all later ones signed 32-bit (negative height: top-down).
    if len(buffer) < 26:
        return None
    dib_size = int.from_bytes(buffer[14:18], 'little')
    if dib_size == 12:
        return int.from_bytes(buffer[20:22], 'little'), int.from_bytes(buffer[18:20], 'little')
    width = int.from_bytes(buffer[18:22], 'little', signed=True)
    height = int.from_bytes(buffer[22:26], 'little', signed=True)
    return abs(height), abs(width)


def _webp_size(buffer: bytes) -> Optional[Size]:
    """The canvas (extended format) or frame (lossy, lossless) size of the first chunk."""
    chunk = buffer[12:16]
    if chunk == b'VP8X' and len(buffer) >= 30:
        # Flags (4 bytes after the chunk size), then canvas width - 1 and height - 1, 24 bits each.
        return int.from_bytes(buffer[27:30], 'little') + 1, int.from_bytes(buffer[24:27], 'little') + 1
    if chunk == b'VP8L' and len(buffer) >= 25 and buffer[20] == 0x2F:
        # Signature byte, then width - 1 and height - 1 in 14 bits each.
        bits = int.from_bytes(buffer[21:25], 'little')
        return ((bits >> 14) & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b'VP8 ' and len(buffer) >= 30 and buffer[23:26] == b'\x9d\x01\x2a':
        # Frame tag (3), start code (3), then width and height in 14 bits (2 scale bits on top).
        return (int.from_bytes(buffer[28:30], 'little') & 0x3FFF,
                int.from_bytes(buffer[26:28], 'little') & 0x3FFF)
    return None


def _tiff_size(buffer: bytes) -> Optional[Size]:
    """Width and length tags of the first image file directory (the page a decoder reads)."""
    order = 'little' if buffer.startswith(b'II') else 'big'
    offset = int.from_bytes(buffer[4:8], order)
    if offset + 2 > len(buffer):
        return None
    count = int.from_bytes(buffer[offset:offset + 2], order)
    tags = {}
    for entry in range(offset + 2, min(offset + 2 + 12 * count, len(buffer) - 11), 12):
        tag = int.from_bytes(buffer[entry:entry + 2], order)
        kind = int.from_bytes(buffer[entry + 2:entry + 4], order)
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT) and kind in (_TIFF_SHORT, _TIFF_LONG):
            # The value sits in the entry itself, left-justified: 2 bytes for SHORT, 4 for LONG.
            width = 2 if kind == _TIFF_SHORT else 4
            tags[tag] = int.from_bytes(buffer[entry + 8:entry + 8 + width], order)
    if _TIFF_WIDTH not in tags or _TIFF_HEIGHT not in tags:
        return None
    return tags[_TIFF_HEIGHT], tags[_TIFF_WIDTH]


def _pil_size(buffer: bytes) -> Optional[Size]:
    """The size from Pillow's header parser, for the formats not parsed above; None if it knows none."""
    try:
        from PIL import Image
    except ImportError:  # no Pillow: such formats stay unknown, hence refused
        return None
    with warnings.catch_warnings():
        # Pillow warns above 89 M pixels and raises above twice that; the caller applies its own limit.
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(buffer)) as image:
                width, height = image.size
        except Image.DecompressionBombError as error:
            raise HeaderTooLarge(str(error)) from None
        except Exception:  # noqa: BLE001  (any parser failure means: no readable header)
            return None
    return height, width
