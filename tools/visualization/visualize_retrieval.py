"""Draw what a checkpoint retrieves from an evaluation set, as a PNG grid.

    python tools/visualization/visualize_retrieval.py CONFIG CHECKPOINT \\
        --query "a red circle" --query "a small blue square" --image my_photo.jpg --topk 5 --out grid.png
    python tools/visualization/visualize_retrieval.py CONFIG CHECKPOINT --from-gallery 4

Without --out the grid goes next to the checkpoint (retrieval_grid.png); the path is printed.
--from-gallery N adds N of the gallery's captions and N of its images as queries: their right answers
are known, and correct matches are marked (a green label saying "correct"), as they are for any query
that is a gallery caption or a gallery image file.

The gallery is the dataset of the config's test dataloader (``--split-dataloader val`` for the
validation one): every distinct image (by dataset and image_id) and every caption, embedded by the
model through the config's test pipeline. Each ``--query`` gets a row with the text and its top-k
images; each ``--image`` a row with the image and its top-k captions; scores are cosine similarities.
Text queries are tokenised by the pipeline's ``Tokenize`` step. The logic lives in
``zerovl.visualization``; this script only wires it to the command line.
"""
import argparse
import os
import sys
from pathlib import Path
from typing import List

import torch
from mmengine.config import DictAction

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.utils.checkpoint import add_trust_checkpoint_argument, trust_if_asked  # noqa: E402
from zerovl.utils.device import DeviceUnavailableError, add_device_argument, resolve_device  # noqa: E402
from zerovl.utils import load_config, register_all_modules  # noqa: E402
from zerovl.apis.ranking import top_k  # noqa: E402
from zerovl.datasets.transforms.tokenize import find_tokenize  # noqa: E402
from zerovl.models.text_embedding import embed_texts  # noqa: E402
from zerovl.visualization import (GridLayout, check_image_path, embed_gallery, embed_image_queries,  # noqa: E402
                                  image_query_row, pipeline_of, stack_rows, text_query_row, write_image)
from zerovl.visualization.ground_truth import (captions_of_image_file, gallery_queries,  # noqa: E402
                                               images_of_caption, mark_correct)

SPLITS = ('test', 'val')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file (a DualEncoder)')
    parser.add_argument('--query', action='append', default=[], help='a text query (repeatable)')
    parser.add_argument('--image', action='append', default=[], help='an image file to query with (repeatable)')
    parser.add_argument('--topk', type=int, default=5, help='matches shown per query')
    parser.add_argument('--from-gallery', type=int, default=0, metavar='N',
                        help='also query with N gallery captions and N gallery images (known right answers)')
    parser.add_argument('--out', help='the PNG to write (default: retrieval_grid.png next to the checkpoint)')
    parser.add_argument('--split-dataloader', choices=SPLITS, default='test',
                        help="whose dataset is the gallery: the config's test_dataloader or val_dataloader")
    parser.add_argument('--dataset', action='append', dest='datasets',
                        help='keep only this source of the gallery (its dataset_name; repeatable)')
    parser.add_argument('--batch-size', type=int, help="embedding batch size (default: the dataloader's)")
    add_device_argument(parser)
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = parser.parse_args(argv)
    if not args.query and not args.image and args.from_gallery < 1:
        parser.error('give at least one --query TEXT, --image PATH or --from-gallery N')
    args.out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), 'retrieval_grid.png')
    if args.topk < 1:
        parser.error(f'--topk must be at least 1, got {args.topk}')
    return args


def load_model(cfg, checkpoint: str, device: str):
    """The config's model with the checkpoint's weights (strictly: a missing, unexpected or mis-shaped key
    stops with the list), in eval mode. Local files go through zerovl's safe loader, which importing
    zerovl.engine registered."""
    from mmengine.runner import CheckpointLoader

    from zerovl.engine.hooks.strict_load_hook import checkpoint_model_state
    from zerovl.registry import MODELS
    from zerovl.utils.state_dict_fit import load_state_dict_strictly
    model = MODELS.build(cfg.model)
    if not (hasattr(model, 'encode_image') and hasattr(model, 'encode_text')):
        raise TypeError(f'{type(model).__name__} is not a dual encoder (no encode_image / encode_text)')
    state = checkpoint_model_state(CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu'))
    load_state_dict_strictly(model, state, f'checkpoint {checkpoint}')
    return model.to(device).eval()


def build_gallery_dataset(cfg, split: str):
    from zerovl.registry import DATASETS
    loader_cfg = cfg.get(f'{split}_dataloader')
    if not loader_cfg:
        raise ValueError(f'the config has no {split}_dataloader to take the gallery from')
    return loader_cfg, DATASETS.build(loader_cfg['dataset'])


def check_topk(topk: int, gallery, args) -> None:
    for wanted, size, what in ((bool(args.query), len(gallery.image_keys), 'images'),
                               (bool(args.image), len(gallery.captions), 'captions')):
        if wanted and topk > size:
            raise ValueError(f'--topk {topk} exceeds the gallery, which has {size} {what}')


def rank_text_queries(model, tokenize, gallery, queries: List[str], topk: int, layout: GridLayout):
    with torch.no_grad():
        query_embeds = embed_texts(model, tokenize.tokenizer, queries, tokenize.max_length).cpu()
    scores, indices = top_k(query_embeds, gallery.image_embeds, topk)
    results, rows = [], []
    for query, row_scores, row_indices in zip(queries, scores.tolist(), indices.tolist()):
        correct = mark_correct(row_indices, images_of_caption(gallery, query))
        results.append(dict(kind='text', query=query, indices=row_indices, scores=row_scores, correct=correct))
        rows.append(text_query_row(query, [gallery.image(i) for i in row_indices], row_scores, layout, correct))
    return results, rows


def rank_image_queries(model, pipeline, gallery, paths: List[str], topk: int, layout: GridLayout):
    embeds, images = embed_image_queries(model, pipeline, paths)
    scores, indices = top_k(embeds, gallery.text_embeds, topk)
    results, rows = [], []
    for path, image, row_scores, row_indices in zip(paths, images, scores.tolist(), indices.tolist()):
        correct = mark_correct(row_indices, captions_of_image_file(gallery, path))
        results.append(dict(kind='image', query=path, indices=row_indices, scores=row_scores, correct=correct))
        rows.append(image_query_row(image, [gallery.captions[i] for i in row_indices], row_scores, layout,
                                    correct))
    return results, rows


def print_results(results: List[dict], gallery) -> None:
    for result in results:
        print(f"{result['kind']} query: {result['query']}")
        correct = result['correct'] or [False] * len(result['indices'])
        for rank, (index, score, hit) in enumerate(zip(result['indices'], result['scores'], correct), start=1):
            mark = '  (correct)' if hit else ''
            if result['kind'] == 'text':
                name, image_id = gallery.image_keys[index]
                print(f'  #{rank} {score:.3f}  {name} image {image_id}{mark}')
            else:
                print(f'  #{rank} {score:.3f}  {gallery.captions[index]}{mark}')
    known = [result for result in results if result['correct'] is not None]
    if known:
        found = sum(any(result['correct']) for result in known)
        print(f'{found} of the {len(known)} queries with a known answer have a correct match in their top '
              f'{len(known[0]["indices"])}')


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_image_path(args.out)
    for path in args.image:  # before the gallery pass, which is the slow part
        if not os.path.isfile(path):
            raise FileNotFoundError(f'query image {path} does not exist')
    try:
        device = resolve_device(args.device)
    except DeviceUnavailableError as error:
        raise SystemExit(f'error: {error}') from None
    trust_if_asked(args)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    loader_cfg, dataset = build_gallery_dataset(cfg, args.split_dataloader)
    pipeline = pipeline_of(dataset)
    tokenize = find_tokenize(pipeline)  # checked before the (slow) gallery pass: captions need it too
    model = load_model(cfg, args.checkpoint, device)
    gallery = embed_gallery(model, dataset, batch_size=args.batch_size or loader_cfg.get('batch_size', 64),
                            num_workers=loader_cfg.get('num_workers', 0), dataset_names=args.datasets)
    if args.from_gallery:
        captions, paths = gallery_queries(gallery, args.from_gallery)
        args.query, args.image = args.query + captions, args.image + paths
    check_topk(args.topk, gallery, args)
    layout = GridLayout()
    results, rows = [], []
    if args.query:
        results, rows = rank_text_queries(model, tokenize, gallery, args.query, args.topk, layout)
    if args.image:
        image_results, image_rows = rank_image_queries(model, pipeline, gallery, args.image, args.topk, layout)
        results, rows = results + image_results, rows + image_rows
    grid = stack_rows(rows)
    write_image(args.out, grid)
    print_results(results, gallery)
    print(f'{len(rows)} rows x {args.topk + 1} columns written to {os.path.abspath(args.out)}')
    return dict(out=args.out, grid=grid, results=results, gallery=gallery, layout=layout)


if __name__ == '__main__':
    main()
