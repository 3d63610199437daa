"""Rank texts for images and images for texts with an exported zerovl model.

    python tools/infer.py EXPORT_DIR --images a.png b.png --texts "a red circle" "a blue square" \\
        [--top-k 5] [--out result.json] [--device cpu]

EXPORT_DIR is written by tools/model_converters/export.py. Images and texts go through the export's test
pipeline and tokenizer, as in tools/test.py. Every image gets its best texts and every text its best images,
with cosine similarities; ``--out`` also saves the full similarity matrix as JSON.
"""
import argparse
import json
import os
import os.path as osp
import sys
from pathlib import Path
from typing import List

import torch

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerovl.apis import ExportError, ZeroVLInferencer, ranking_as_lists  # noqa: E402
from zerovl.apis.inferencer import rank  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('export_dir', help='folder written by tools/model_converters/export.py')
    parser.add_argument('--images', nargs='+', required=True, help='image files')
    parser.add_argument('--texts', nargs='+', required=True, help='texts, one argument each')
    parser.add_argument('--top-k', type=int, default=5, help='matches listed per query (at most all of them)')
    parser.add_argument('--out', help='write the rankings and the similarity matrix to this JSON file')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch-size', type=int, default=32)
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f'--top-k must be at least 1, got {args.top_k}')
    missing = [path for path in args.images if not osp.isfile(path)]
    if missing:  # before the model is built, which is the slow part
        parser.error(f'image(s) not found: {missing}')
    return args


def infer(inferencer: ZeroVLInferencer, images: List[str], texts: List[str], top_k: int) -> dict:
    # Each side embedded once, ranked both ways.
    image_embeds, text_embeds = inferencer.embed_images(images), inferencer.embed_texts(texts)
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


def print_result(result: dict) -> None:
    for direction, query_key in (('image_to_text', 'image'), ('text_to_image', 'text')):
        for entry in result[direction]:
            print(f'{query_key} {entry[query_key]!r}:')
            for rank_number, match in enumerate(entry['matches'], start=1):
                print(f'  #{rank_number}  {match["score"]:+.4f}  {match["label"]}')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        inferencer = ZeroVLInferencer.from_exported(args.export_dir, args.device, args.batch_size)
    except ExportError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    result = infer(inferencer, args.images, args.texts, args.top_k)
    print_result(result)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
