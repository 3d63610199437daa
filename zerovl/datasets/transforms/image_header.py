"""Read an image's size from its header, before decoding it.

A decoder allocates the whole image first: a 20000 x 20000 crawl result (or a corrupt header that
claims it) costs 1.2 GB in a DataLoader worker before anything can reject it, and eight workers doing
that at once end a training run. Reading the size from the JPEG or PNG header costs microseconds and
lets the loader refuse such an image first. Other formats (WebP, GIF, BMP, ...) return None here and
are left to OpenCV's own pixel limit.
"""
from typing import Optional, Tuple

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are other tables.
_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
# Markers without a length field: restart markers, start/end of image, TEM.
_JPEG_STANDALONE = frozenset((0x01, *range(0xD0, 0xDA)))
_JPEG_START_OF_SCAN = 0xDA


def peek_size(buffer: bytes) -> Optional[Tuple[int, int]]:
    """(height, width) as the header states it, or None for another format or an unreadable header."""
    if buffer.startswith(_PNG_SIGNATURE):
        return _png_size(buffer)
    if buffer.startswith(b'\xff\xd8'):
        return _jpeg_size(buffer)
    return None


def _png_size(buffer: bytes) -> Optional[Tuple[int, int]]:
    # The IHDR chunk must come first: length (4), b'IHDR', width (4), height (4), big-endian.
    if len(buffer) < 24 or buffer[12:16] != b'IHDR':
        return None
    width = int.from_bytes(buffer[16:20], 'big')
    height = int.from_bytes(buffer[20:24], 'big')
    return height, width


def _jpeg_size(buffer: bytes) -> Optional[Tuple[int, int]]:
    """Walk the marker segments up to the first start-of-frame, which holds the frame's size."""
    position = 2
    end = len(buffer)
    while position + 1 < end:
        if buffer[position] != 0xFF:
            return None  # not at a marker: the header is corrupt
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
