"""Run clip_benchmark's zero-shot classification or retrieval, offline, on a local dataset, with an open_clip
model folder (written from a zerovl model by tools/model_converters/export_open_clip.py).

    # classification: one sub-folder of images per class (torchvision's ImageFolder, as clip_benchmark reads
    # ImageNet); class names are the folder names with '_' read as a space, or --classnames FILE (one per
    # line, in sorted folder order); templates are clip_benchmark's ImageNet ones, or --templates FILE
    python tools/analysis_tools/clip_benchmark_local.py work_dirs/demo_open_clip --task zeroshot_classification \\
        --image-folder data/fashion_mnist_folders/test --templates templates.txt --output fm.json
    # retrieval: a ZeroVL annotation CSV and its images (DATA_ROOT/NAME/SPLIT_anno.csv, docs/data_preparation.md),
    # every caption of an image_id one of its captions
    python tools/analysis_tools/clip_benchmark_local.py work_dirs/demo_open_clip --task zeroshot_retrieval \\
        --data-root data/synthetic --name synth_a --split valid --recall-k 1 5 10 --output synth_a.json

The model, its image transform and its tokenizer are loaded by clip_benchmark's own loader
(``clip_benchmark.models.load_clip('open_clip', 'local-dir:FOLDER', ...)``) and scored by its own metrics
(``clip_benchmark.metrics.zeroshot_classification`` / ``zeroshot_retrieval``): only the dataset, which its
builder would download, is read from disk here. The JSON written has clip_benchmark's result layout.
One substitution, made only where needed: clip_benchmark 1.6.2's top-k ``accuracy`` converts a one-element
array with ``float()``, which NumPy >= 2.4 refuses; then it is replaced by one with the same definition (the
share of images whose class is among the k highest scores), see :func:`numpy_safe_accuracy`.
Needs ``pip install --no-deps -r requirements/benchmark.txt`` (clip_benchmark and scikit-learn).
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from pathlib import Path
from typing import List, Tuple

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.utils.device import DeviceUnavailableError, add_device_argument, resolve_device  # noqa: E402

TASKS = ('zeroshot_classification', 'zeroshot_retrieval')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model_dir', help='an open_clip model folder (open_clip_config.json + weights)')
    parser.add_argument('--task', choices=TASKS, required=True)
    parser.add_argument('--image-folder', help='classification: a folder with one sub-folder of images per class')
    parser.add_argument('--classnames', help='classification: a file with one class name per line')
    parser.add_argument('--templates', help='classification: a file with one prompt template per line, {c} the class')
    parser.add_argument('--zerovl-prompts', nargs=2, metavar=('CLASSNAMES', 'TEMPLATES'),
                        help="classification: zerovl's prompts instead (a ZeroShotClassifier's named class and template "
                             "sets, e.g. fashion_mnist general): every synonym in every template, as tools/test.py "
                             'scores them; each folder must name one of the classes')
    parser.add_argument('--data-root', help='retrieval: the folder holding NAME/SPLIT_anno.csv and NAME/SPLIT/')
    parser.add_argument('--name', help='retrieval: the source sub-folder')
    parser.add_argument('--split', default='valid', help='retrieval: the split (default valid)')
    parser.add_argument('--recall-k', type=int, nargs='+', default=[1, 5, 10], help='retrieval: the k of R@k')
    parser.add_argument('--batch-size', type=int, default=64)
    add_device_argument(parser)
    parser.add_argument('--amp', action='store_true', help='autocast as clip_benchmark does by default (off: fp32)')
    parser.add_argument('--output', help='write the results JSON here')
    args = parser.parse_args(argv)
    if not osp.isdir(args.model_dir):
        parser.error(f'{args.model_dir} is not a folder')
    if args.task == 'zeroshot_classification' and not (args.image_folder and osp.isdir(args.image_folder)):
        parser.error(f'zeroshot_classification needs --image-folder, an existing folder (got {args.image_folder})')
    if args.zerovl_prompts and (args.templates or args.classnames):
        parser.error('--zerovl-prompts names the classes and the prompts: leave out --templates and --classnames')
    if args.task == 'zeroshot_retrieval' and not (args.data_root and args.name):
        parser.error('zeroshot_retrieval needs --data-root and --name')
    return args


def read_lines(path: str) -> List[str]:
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def default_templates() -> List[str]:
    """clip_benchmark's English ImageNet templates: what its CLI uses for a dataset it has none for."""
    import clip_benchmark.datasets
    path = osp.join(osp.dirname(clip_benchmark.datasets.__file__), 'en_zeroshot_classification_templates.json')
    with open(path, encoding='utf-8') as f:
        return json.load(f)['imagenet1k']


class CaptionedImages(Dataset):
    """(transformed image, [its captions]) per image_id of a ZeroVL annotation CSV, in first-row order: the
    item layout of clip_benchmark's retrieval datasets (its COCO and Flickr loaders)."""

    def __init__(self, data_root: str, name: str, split: str, transform):
        from zerovl.datasets import ImageTextDataset
        rows = ImageTextDataset(data_root=data_root, name=name, split=split, test_mode=True)
        self.images: 'OrderedDict[str, Tuple[str, List[str]]]' = OrderedDict()
        for index in range(len(rows)):
            info = rows.get_data_info(index)
            self.images.setdefault(info['image_id'], (info['img_path'], []))[1].append(info['caption'])
        self.items = list(self.images.values())
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        from PIL import Image
        path, captions = self.items[index]
        with Image.open(path) as image:
            return self.transform(image.convert('RGB')), captions


def captions_collate(batch):
    return default_collate([image for image, _ in batch]), [captions for _, captions in batch]


def zerovl_prompts(classnames: str, templates: str, folders: List[str]) -> Tuple[List[str], dict]:
    """(class names, {class name: prompts}) with zerovl's prompt ensembles (every synonym of a class in every
    template, with zerovl's "a"/"an"), the classes in folder order; clip_benchmark embeds each class's list."""
    from zerovl.models.zero_shot_prompts import fill_template, resolve_classnames, resolve_templates
    classes, templates = resolve_classnames(classnames), resolve_templates(templates)
    names, prompts = [], {}
    for folder in folders:
        matches = [synonyms for synonyms in classes if folder.replace('_', ' ') in synonyms]
        if len(matches) != 1:
            raise ValueError(f'class folder {folder!r} names {len(matches)} of the classes of {classnames!r} '
                             f'({[synonyms[0] for synonyms in classes]}); it must name exactly one')
        names.append(matches[0][0])
        prompts[names[-1]] = [fill_template(template, name) for name in matches[0] for template in templates]
    return names, prompts


def classification_data(args, transform):
    from torchvision.datasets import ImageFolder
    dataset = ImageFolder(args.image_folder, transform=transform)
    if args.zerovl_prompts:
        return (dataset, *zerovl_prompts(*args.zerovl_prompts, dataset.classes))
    classnames = read_lines(args.classnames) if args.classnames else [c.replace('_', ' ') for c in dataset.classes]
    if len(classnames) != len(dataset.classes):
        raise ValueError(f'{args.classnames} names {len(classnames)} classes; {args.image_folder} has '
                         f'{len(dataset.classes)} class folders {dataset.classes}')
    templates = read_lines(args.templates) if args.templates else default_templates()
    for template in templates:
        if '{c}' not in template:
            raise ValueError(f'{args.templates}: template {template!r} has no {{c}} for the class name')
    return dataset, classnames, templates


def numpy_safe_accuracy(logits: torch.Tensor, target: torch.Tensor, topk=(1,)) -> List[float]:
    """Per k, the share of rows whose ``target`` is among the k highest ``logits`` (clip_benchmark's contract)."""
    best = logits.topk(max(topk), dim=1).indices
    hits = best == target[:, None]
    return [hits[:, :k].any(dim=1).sum().item() / len(target) for k in topk]


def use_working_accuracy(zeroshot_classification) -> bool:
    """Replace clip_benchmark's ``accuracy`` if it fails on this NumPy; True if it was replaced."""
    try:
        zeroshot_classification.accuracy(torch.tensor([[1.0, 0.0]]), torch.tensor([0]), topk=(1,))
        return False
    except TypeError:
        zeroshot_classification.accuracy = numpy_safe_accuracy
        return True


def evaluate(args) -> dict:
    from clip_benchmark.metrics import zeroshot_classification, zeroshot_retrieval
    use_working_accuracy(zeroshot_classification)
    from clip_benchmark.models import load_clip
    model, transform, tokenizer = load_clip('open_clip', f'local-dir:{osp.abspath(args.model_dir)}',
                                            pretrained=None, cache_dir=None, device=args.device)
    model.eval()
    if args.task == 'zeroshot_classification':
        dataset, classnames, templates = classification_data(args, transform)
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False)
        metrics = zeroshot_classification.evaluate(model, loader, tokenizer, classnames, templates, args.device,
                                                   amp=args.amp)
        name = args.image_folder
    else:
        dataset = CaptionedImages(args.data_root, args.name, args.split, transform)
        if max(args.recall_k) > len(dataset):  # clip_benchmark's topk would fail with "index out of range"
            raise ValueError(f'--recall-k {max(args.recall_k)} exceeds the {len(dataset)} images of '
                             f'{args.data_root}/{args.name}/{args.split}')
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False, collate_fn=captions_collate)
        metrics = zeroshot_retrieval.evaluate(model, loader, tokenizer, args.device, amp=args.amp,
                                              recall_k_list=args.recall_k)
        name = f'{args.data_root}/{args.name}/{args.split}'
    return dict(dataset=name, model=f'local-dir:{args.model_dir}', pretrained=None, task=args.task,
                metrics=metrics, language='en', num_images=len(dataset))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        args.device = resolve_device(args.device)
        result = evaluate(args)
    except DeviceUnavailableError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except ImportError as error:
        print(f'error: {error}; install with pip install --no-deps -r requirements/benchmark.txt', file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    for key, value in result['metrics'].items():
        print(f'{key:32s} {value:.4f}')
    if args.output:
        os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
        with open(args.output, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
