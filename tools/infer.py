"""Embed images and/or texts with a trained zerovl model; rank each against the other when both are given.

    # a checkpoint with its config (file or name from zerovl.list_models()), no export needed
    python tools/infer.py zerovl_demo --checkpoint work_dirs/zerovl_demo/epoch_6.pth \\
        --images a.png b.png --texts "a red circle" "a blue square" --top-k 5 --out result.json
    # an export folder (tools/model_converters/export.py); images alone, from a folder, saved as .npy
    python tools/infer.py work_dirs/zerovl_demo_export --images photos/ --save-embeddings photos.npy
    # texts alone, one per line of a file, saved as safetensors
    python tools/infer.py work_dirs/zerovl_demo_export --text-file captions.txt --save-embeddings captions.safetensors

Images go through the model's test pipeline and texts through its tokenizer, as in tools/test.py. With both,
every image gets its best texts and every text its best images, with cosine similarities; ``--out`` also saves
the full similarity matrix as JSON. ``--save-embeddings`` writes the L2-normalised embeddings, rows in input
order: a .safetensors file holds ``image_embeds`` and/or ``text_embeds`` (and the inputs, in its metadata); a
.npy file holds one array, and with both images and texts NAME.npy becomes NAME_images.npy and NAME_texts.npy.
"""
import argparse
import json
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import DictAction

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerovl.apis import ExportError, ZeroVLInferencer, ranking_as_lists  # noqa: E402
from zerovl.apis.create import is_export  # noqa: E402
from zerovl.apis.inferencer import rank  # noqa: E402
from zerovl.utils.device import DeviceUnavailableError, add_device_argument, resolve_device  # noqa: E402

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
EMBEDDING_FORMATS = ('.npy', '.safetensors')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='an export folder, a config file, or a config name from zerovl.list_models()')
    parser.add_argument('--checkpoint', help='the checkpoint of a config (a .pth or .safetensors file)')
    parser.add_argument('--images', nargs='+', default=[], help='image files, or folders of them (sorted by name)')
    parser.add_argument('--image-list', help='a text file naming one image file per line')
    parser.add_argument('--texts', nargs='+', default=[], help='texts, one argument each')
    parser.add_argument('--text-file', help='a UTF-8 text file with one text per line (blank lines skipped)')
    parser.add_argument('--top-k', type=int, default=5, help='matches listed per query (at most all of them)')
    parser.add_argument('--out', help='write the rankings and the similarity matrix to this JSON file')
    parser.add_argument('--save-embeddings', help=f'write the embeddings to this file ({", ".join(EMBEDDING_FORMATS)})')
    add_device_argument(parser)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys (not for exports)')
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f'--top-k must be at least 1, got {args.top_k}')
    if args.save_embeddings and not args.save_embeddings.endswith(EMBEDDING_FORMATS):
        parser.error(f'--save-embeddings must end with one of {EMBEDDING_FORMATS}, got {args.save_embeddings}')
    # Inputs are gathered and checked before the model is built, which is the slow part.
    try:
        args.images = gather_images(args.images, args.image_list)
        args.texts = list(args.texts) + (read_lines(args.text_file) if args.text_file else [])
    except FileNotFoundError as error:
        parser.error(str(error))
    if not args.images and not args.texts:
        parser.error('nothing to embed: give --images/--image-list and/or --texts/--text-file')
    if args.out and not (args.images and args.texts):
        parser.error('--out writes rankings, which need both images and texts; use --save-embeddings for one side')
    return args


def read_lines(path: str) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def gather_images(paths: List[str], image_list: str = None) -> List[str]:
    """Files as given, folders expanded to their image files (sorted), then the list file's lines."""
    images = []
    for path in list(paths) + (read_lines(image_list) if image_list else []):
        if osp.isdir(path):
            found = sorted(osp.join(path, name) for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise FileNotFoundError(f'folder {path} holds no image files ({", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'image not found: {path}')
    return images


def rankings(image_embeds: torch.Tensor, text_embeds: torch.Tensor, images: List[str], texts: List[str],
             top_k: int) -> dict:
    # Each side embedded once, ranked both ways.
    image_to_text = rank(image_embeds, text_embeds, min(top_k, len(texts)))
    text_to_image = rank(text_embeds, image_embeds, min(top_k, len(images)))
    return dict(
        images=images, texts=texts,
        similarity=image_to_text.similarity.tolist(),  # [image][text]
        image_to_text=[dict(image=image, matches=matches)
                       for image, matches in zip(images, ranking_as_lists(image_to_text, texts))],
        text_to_image=[dict(text=text, matches=matches)
                       for text, matches in zip(texts, ranking_as_lists(text_to_image, images))],
    )


def infer(inferencer: ZeroVLInferencer, images: List[str], texts: List[str], top_k: int) -> dict:
    return rankings(inferencer.embed_images(images), inferencer.embed_texts(texts), images, texts, top_k)


def print_result(result: dict) -> None:
    for direction, query_key in (('image_to_text', 'image'), ('text_to_image', 'text')):
        for entry in result[direction]:
            print(f'{query_key} {entry[query_key]!r}:')
            for rank_number, match in enumerate(entry['matches'], start=1):
                print(f'  #{rank_number}  {match["score"]:+.4f}  {match["label"]}')


def save_embeddings(path: str, embeds: Dict[str, torch.Tensor], inputs: Dict[str, List[str]]) -> List[str]:
    """Write the embeddings as ``--save-embeddings`` says; the files written."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if path.endswith('.safetensors'):
        from safetensors.torch import save_file
        metadata = {key: json.dumps(values) for key, values in inputs.items()}
        save_file({f'{key[:-1]}_embeds': value.contiguous() for key, value in embeds.items()}, path, metadata=metadata)
        return [path]
    if len(embeds) == 1:
        np.save(path, next(iter(embeds.values())).numpy())
        return [path]
    written = []
    for key, value in embeds.items():
        target = f'{path[:-len(".npy")]}_{key}.npy'
        np.save(target, value.numpy())
        written.append(target)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        device = resolve_device(args.device)
    except DeviceUnavailableError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    if args.checkpoint is None and not is_export(args.model):
        print(f'note: no --checkpoint: {args.model} is built with its initial weights (pre-trained towers as the '
              'config names them, random heads), not trained ones', file=sys.stderr)
    try:
        inferencer = ZeroVLInferencer.create(args.model, args.checkpoint, device, args.batch_size,
                                             args.cfg_options)
    except (ExportError, FileNotFoundError, KeyError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    embeds, inputs = {}, {}
    if args.images:
        embeds['images'], inputs['images'] = inferencer.embed_images(args.images), args.images
    if args.texts:
        embeds['texts'], inputs['texts'] = inferencer.embed_texts(args.texts), args.texts
    for key, value in embeds.items():
        print(f'{len(value)} {key[:-1]} embeddings of dimension {value.shape[1]}')
    if args.images and args.texts:
        result = rankings(embeds['images'], embeds['texts'], args.images, args.texts, args.top_k)
        print_result(result)
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w', encoding='utf-8') as f:
                json.dump(result, f, indent=2)
            print(f'results written to {args.out}')
    if args.save_embeddings:
        for path in save_embeddings(args.save_embeddings, embeds, inputs):
            print(f'embeddings written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
