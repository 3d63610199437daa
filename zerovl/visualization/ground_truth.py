"""Which retrieved items are right, when a query comes from the gallery itself.

A free-text query has no right answer; a query that is one of the gallery's captions does (the images
that caption describes), and so does an image query that is one of the gallery's image files (its
captions). The retrieval grid marks those matches, and ``gallery_queries`` picks such queries.
"""
import os.path as osp
from typing import List, Optional, Sequence, Set, Tuple

from .gallery import Gallery


def images_of_caption(gallery: Gallery, text: str) -> Optional[Set[int]]:
    """Indices of the gallery images captioned exactly ``text``; None when no caption is ``text``."""
    found = {gallery.caption_images[i] for i, caption in enumerate(gallery.captions) if caption == text}
    return found or None


def image_path(gallery: Gallery, index: int) -> str:
    """The file of gallery image ``index`` (for LMDB sources ``<shard>:<key>``, which is no file)."""
    return gallery.dataset.get_data_info(gallery.image_samples[index])['img_path']


def captions_of_image_file(gallery: Gallery, path: str) -> Optional[Set[int]]:
    """Indices of the captions of the gallery image stored at ``path``; None when it is no gallery image."""
    wanted = osp.realpath(path)
    for index in range(len(gallery.image_keys)):
        if osp.realpath(image_path(gallery, index)) == wanted:
            return {i for i, image in enumerate(gallery.caption_images) if image == index}
    return None


def mark_correct(retrieved: Sequence[int], right: Optional[Set[int]]) -> Optional[List[bool]]:
    """For each retrieved index whether it is right; None when the query has no known answer."""
    return None if right is None else [index in right for index in retrieved]


def gallery_queries(gallery: Gallery, count: int) -> Tuple[List[str], List[str]]:
    """``count`` captions and ``count`` image files of the gallery, evenly spread over it, as queries whose
    right answers are known. Image files are skipped where the source is an LMDB (no file to open)."""
    def spread(size: int) -> List[int]:
        return sorted({round(i * (size - 1) / max(count - 1, 1)) for i in range(min(count, size))})

    captions = [gallery.captions[i] for i in spread(len(gallery.captions))]
    paths = [image_path(gallery, i) for i in spread(len(gallery.image_keys))]
    return captions, [path for path in paths if osp.isfile(path)]
