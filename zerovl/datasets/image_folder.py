"""Image classification from an ImageNet-style folder, for linear probing (method doc §2.9).

Two layouts, both under ``data_root``:

* **class folders** (default): one sub-folder per class, its images anywhere below it. Classes are the
  sub-folders in sorted order (the ImageNet synset order every ImageNet label list uses) unless
  ``classes`` names them, and a class's index is its position in that list.
* **a list file** (``ann_file``): one ``relative/path label`` per line, the path relative to
  ``data_root``, the label a class index or a class name from ``classes``. This is the form of the
  ImageNet validation list (``ILSVRC2012_val_00000001.JPEG 65``) for a flat, unsorted val folder.

Every sample is ``img_path`` (absolute), ``gt_label`` (int), ``dataset_name`` and, for a list file,
``ann_file`` and ``row`` (its line number), which ``LoadImageFromFile`` names when an image is bad.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from zerovl.registry import DATASETS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def read_class_names(path: str) -> List[str]:
    """One class name per non-empty line."""
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f'class list {path} is empty')
    return names


def class_folders(root: str) -> List[str]:
    """The sorted sub-folders of ``root``, one per class."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'image folder {osp.abspath(root)} does not exist')
    names = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith('.'))
    if not names:
        raise ValueError(f'image folder {osp.abspath(root)} has no class sub-folders (expected '
                         'root/<class>/<image>, or pass ann_file with "path label" lines)')
    return names


def images_below(folder: str, extensions: Tuple[str, ...]) -> List[str]:
    """Image files anywhere below ``folder``, in sorted order so that sample indices are reproducible."""
    found = []
    for directory, subdirs, files in os.walk(folder, followlinks=True):
        subdirs.sort()
        found.extend(osp.join(directory, name) for name in sorted(files) if name.lower().endswith(extensions))
    return found


def parse_label(token: str, classes: Optional[Sequence[str]], where: str) -> int:
    """A label token (a class index, or a class name when ``classes`` is known) as an index."""
    if token.lstrip('-').isdigit():
        label = int(token)
        if label < 0 or (classes is not None and label >= len(classes)):
            known = f'0..{len(classes) - 1}' if classes is not None else 'non-negative'
            raise ValueError(f'{where}: label {label} is not a known class index ({known})')
        return label
    if classes is not None and token in classes:
        return list(classes).index(token)
    raise ValueError(f'{where}: unknown label {token!r} (neither a class index nor a name in classes)')


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Labelled images from class folders or a ``path label`` list; see the module docstring.

    Args:
        data_root: the folder of the split (``data/imagenet/train``).
        name: reported as ``dataset_name``; the accuracy is keyed ``{name}/top1``.
        ann_file: a ``relative/path label`` list (relative paths are joined to ``data_root``); None
            reads class folders.
        classes: class names in label order, or a file with one name per line (a path as given, not
            joined to ``data_root``). None: the sorted
            sub-folders (folder layout); with a list file, ``0..max label`` as strings.
        extensions: file endings (lower case) counted as images in the folder layout.
        pipeline: transforms; start with ``LoadImageFromFile``.
        **kwargs: other ``mmengine.dataset.BaseDataset`` arguments (``indices``, ``lazy_init``, ...).
    """

    def __init__(self,
                 data_root: str,
                 name: str = 'imagenet',
                 ann_file: Optional[str] = None,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        self.name = name
        self.extensions = tuple(ext.lower() for ext in extensions)
        if isinstance(classes, str):
            classes = read_class_names(classes)
        elif classes is None and ann_file is None:
            classes = class_folders(data_root)
        metainfo = dict(classes=tuple(classes)) if classes is not None else None
        super().__init__(ann_file=ann_file or '', metainfo=metainfo, data_root=data_root,
                         pipeline=list(pipeline), test_mode=test_mode, **kwargs)

    @property
    def classes(self) -> Optional[Tuple[str, ...]]:
        return self._metainfo.get('classes')

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            return self._load_list_file()
        return self._load_class_folders()

    def _load_class_folders(self) -> List[dict]:
        samples = []
        for label, class_name in enumerate(self.classes):
            folder = osp.join(self.data_root, class_name)
            if not osp.isdir(folder):
                raise FileNotFoundError(f"dataset '{self.name}': class folder {osp.abspath(folder)} "
                                        f'(class {label}) does not exist')
            images = images_below(folder, self.extensions)
            # An empty class would silently shrink the label space the probe is scored on.
            if not images:
                raise ValueError(f"dataset '{self.name}': class folder {osp.abspath(folder)} holds no image "
                                 f'(endings {", ".join(self.extensions)})')
            samples.extend(dict(img_path=osp.abspath(path), gt_label=label) for path in images)
        return samples

    def _load_list_file(self) -> List[dict]:
        ann_file = osp.abspath(self.ann_file)
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f"dataset '{self.name}': list file {ann_file} does not exist")
        samples = []
        with open(ann_file, encoding='utf-8') as f:
            for line_number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f'{ann_file} line {line_number}'
                # rsplit: the path may contain spaces, the label cannot.
                parts = line.strip().rsplit(maxsplit=1)
                if len(parts) != 2:
                    raise ValueError(f'{where}: expected "relative/path label", got {line.strip()!r}')
                label = parse_label(parts[1], self.classes, where)
                samples.append(dict(img_path=osp.abspath(osp.join(self.data_root, parts[0])), gt_label=label,
                                    row=line_number))
        if not samples:
            raise ValueError(f"dataset '{self.name}': list file {ann_file} has no samples")
        if self.classes is None:
            num_classes = max(sample['gt_label'] for sample in samples) + 1
            self._metainfo['classes'] = tuple(str(index) for index in range(num_classes))
        return samples

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)  # adds 'sample_idx'
        info['dataset_name'] = self.name
        if 'row' in info:
            info['ann_file'] = osp.abspath(self.ann_file)
        return info
