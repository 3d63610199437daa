"""ZeroShotClassifier on towers whose embeddings are known, so every score has a hand-computed answer.

The image tower returns the first pixel row of channel 0 as the feature; the text tower sums a fixed
word-vector table over the prompt's tokens. With identity projections an image's embedding and every
prompt's embedding are known exactly, hence so are the class embeddings and the predicted scores.
"""
import re

import pytest
import torch
from torch import nn

from zerovl.models import DualEncoder, ZeroShotClassifier
from zerovl.registry import MODELS

SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
# Word -> (axis, length) in the 9-dimensional embedding space; every other word embeds to zero.
WORD_VECTORS = {'red': (0, 1.0), 'green': (1, 1.0), 'blue': (2, 1.0), 'azure': (3, 1.0), 'orange': (4, 1.0),
                'purple': (5, 1.0), 'pink': (6, 1.0), 'photo': (7, 0.5), 'drawing': (8, 0.5)}
WORDS = ['.', 'a', 'an', 'of', 'the'] + list(WORD_VECTORS)
DIM = 9
# 'blue' has a synonym; 'orange' needs "an". Label order as listed.
CLASSNAMES = ['red', 'green', ['blue', 'azure'], 'orange', 'purple', 'pink']
TEMPLATES = ['a photo of a {}.', 'a drawing of the {}.']


@MODELS.register_module(name='_FirstRowImageTower', force=True)
class FirstRowImageTower(nn.Module):
    """Feature = row 0 of channel 0: a test writes the image embedding it wants into the pixels."""

    def __init__(self, dim: int):
        super().__init__()
        self.out_dim = dim
        self.unused = nn.Parameter(torch.zeros(1))  # a parameter, so the tower has a device

    def forward(self, images):
        return images[:, 0, 0, :self.out_dim]


@MODELS.register_module(name='_WordTableTextTower', force=True)
class WordTableTextTower(nn.Module):
    """Feature = sum of fixed word vectors over the non-padding tokens."""

    def __init__(self, table):
        super().__init__()
        table = torch.tensor(table, dtype=torch.float32)
        self.embedding = nn.Embedding.from_pretrained(table, freeze=False)
        self.out_dim = table.shape[1]

    def forward(self, input_ids, attention_mask):
        return (self.embedding(input_ids) * attention_mask[..., None]).sum(1)


def word_table():
    table = torch.zeros(len(SPECIAL) + len(WORDS), DIM)
    for word, (axis, length) in WORD_VECTORS.items():
        table[len(SPECIAL) + WORDS.index(word), axis] = length
    return table


@pytest.fixture(scope='module')
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('zs') / 'vocab.txt'
    path.write_text('\n'.join(SPECIAL + WORDS) + '\n')
    return str(path)


def build(vocab_file, **overrides):
    model = ZeroShotClassifier(
        image_tower=dict(type='_FirstRowImageTower', dim=DIM),
        text_tower=dict(type='_WordTableTextTower', table=word_table().tolist()),
        embed_dim=DIM,
        data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[0.0] * 3, std=[1.0] * 3),
        **{**dict(classnames=CLASSNAMES, templates=TEMPLATES, tokenizer=vocab_file, max_length=12), **overrides})
    with torch.no_grad():
        model.image_projection.weight.copy_(torch.eye(DIM))
        model.text_projection.weight.copy_(torch.eye(DIM))
    return model.eval()


def unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def prompt_embedding(text):
    """The text tower by hand: the sum of the word vectors of the prompt's words, normalised."""
    vector = torch.zeros(DIM)
    for word in re.findall(r'[a-z]+', text):
        if word in WORD_VECTORS:
            axis, length = WORD_VECTORS[word]
            vector[axis] += length
    return unit(vector)


def expected_class_embeds():
    """Per class: the normalised mean of its prompt embeddings, over templates x synonyms."""
    embeds = []
    for names in CLASSNAMES:
        names = [names] if isinstance(names, str) else names
        texts = [template.replace('{}', name) for name in names for template in TEMPLATES]
        embeds.append(unit(torch.stack([prompt_embedding(text) for text in texts]).mean(0)))
    return torch.stack(embeds)


def image_batch(rows, dataset_names=None):
    """uint8 images (B, 3, 1, DIM) whose first row is the wanted (unnormalised) embedding."""
    images = torch.zeros(len(rows), 3, 1, DIM, dtype=torch.uint8)
    images[:, 0, 0] = torch.tensor(rows, dtype=torch.uint8)
    names = dataset_names or ['toy'] * len(rows)
    samples = [dict(gt_label=0, dataset_name=name, sample_idx=i) for i, name in enumerate(names)]
    return dict(inputs=dict(images=images), data_samples=samples)


# Image embeddings chosen so the class ranking is clear: A puts green > purple > orange > red > pink
# > blue; B weighs blue and its synonym azure equally, so only the two-name class 'blue' matches both.
IMAGE_A = [2, 9, 0, 0, 3, 5, 1, 0, 0]
IMAGE_B = [0, 0, 4, 4, 1, 0, 2, 0, 0]


def test_class_embedding_is_the_normalised_mean_over_templates_and_synonyms(vocab_file):
    model = build(vocab_file)
    embeds = model.class_embeddings(model.task_for('toy'))
    torch.testing.assert_close(embeds, expected_class_embeds())
    torch.testing.assert_close(embeds.norm(dim=1), torch.ones(len(CLASSNAMES)))
    # The mean of unit vectors is shorter than one: re-normalising is what makes these unit-norm.
    raw_mean = torch.stack([prompt_embedding('a photo of a red.'), prompt_embedding('a drawing of the red.')]).mean(0)
    assert raw_mean.norm() < 0.99


def test_predicted_classes_and_top5_ranking(vocab_file):
    model = build(vocab_file)
    results = model.test_step(image_batch([IMAGE_A, IMAGE_B]))
    assert [r['sample_idx'] for r in results] == [0, 1] and all(r['dataset_name'] == 'toy' for r in results)
    scores = torch.stack([r['pred_score'] for r in results])
    assert scores.device.type == 'cpu' and scores.shape == (2, len(CLASSNAMES))
    # softmax over classes of the cosine similarities, at scale 1.
    images = unit(torch.tensor([IMAGE_A, IMAGE_B], dtype=torch.float32))
    torch.testing.assert_close(scores, torch.softmax(images @ expected_class_embeds().T, dim=1))
    torch.testing.assert_close(scores.sum(1), torch.ones(2))
    assert scores.argmax(1).tolist() == [1, 2]  # green; blue (by its two names together)
    assert scores[0].topk(5).indices.tolist() == [1, 4, 3, 0, 5]  # green, purple, orange, red, pink
    assert scores[1].topk(2).indices.tolist() == [2, 5]  # blue, then pink


def test_cache_is_reused_then_invalidated_by_train_and_by_loading_weights(vocab_file):
    model = build(vocab_file)
    calls = []
    encode_text = model.encode_text
    model.encode_text = lambda *args, **kwargs: calls.append(1) or encode_text(*args, **kwargs)
    model.test_step(image_batch([IMAGE_A]))
    model.test_step(image_batch([IMAGE_B]))
    assert len(calls) == 1  # 12 prompts in one text batch, computed once for both batches

    # The cache is no parameter or buffer: checkpoints are exactly DualEncoder's.
    state = {key: value.clone() for key, value in model.state_dict().items()}
    assert not any('class' in key or 'cache' in key for key in state)

    # Weights changed in place (as training does): the next evaluation starts with model.eval().
    with torch.no_grad():
        table = model.text_tower.embedding.weight
        red, green = len(SPECIAL) + WORDS.index('red'), len(SPECIAL) + WORDS.index('green')
        table[[red, green]] = table[[green, red]]
    model.train()
    model.eval()
    assert model.test_step(image_batch([IMAGE_A]))[0]['pred_score'].argmax() == 0  # now "red" points at green
    assert len(calls) == 2

    # Loading the original weights back clears the cache as well.
    model.load_state_dict(state)
    assert model.test_step(image_batch([IMAGE_A]))[0]['pred_score'].argmax() == 1
    assert len(calls) == 3


def test_text_batches_split_prompts_without_changing_the_result(vocab_file):
    whole = build(vocab_file)
    split = build(vocab_file, text_batch_size=5)  # 12 prompts: batches of 5, 5, 2 cut across classes
    task = whole.task_for(None)
    torch.testing.assert_close(split.class_embeddings(task), whole.class_embeddings(task))


def test_per_dataset_classes_route_samples_by_dataset_name(vocab_file):
    model = build(vocab_file, classnames={'colours': CLASSNAMES, 'two': ['pink', 'purple']})
    results = model.test_step(image_batch([IMAGE_A, IMAGE_A, IMAGE_B], ['colours', 'two', 'two']))
    assert [r['pred_score'].shape[0] for r in results] == [6, 2, 2]
    assert [int(r['pred_score'].argmax()) for r in results] == [1, 1, 0]  # green; purple > pink; pink
    with pytest.raises(KeyError, match='model.classnames'):
        model.test_step(image_batch([IMAGE_A], ['unknown']))
    with pytest.raises(ValueError, match='name different datasets'):
        build(vocab_file, classnames={'a': ['red']}, templates={'b': TEMPLATES})


def test_image_text_batches_keep_the_dual_encoder_behaviour(vocab_file):
    model = build(vocab_file)
    batch = image_batch([IMAGE_A, IMAGE_B])
    encoded = model.tokenizer(['a red photo', 'a blue drawing'], padding='max_length', max_length=12,
                              return_tensors='pt')
    batch['inputs'].update(input_ids=encoded['input_ids'], attention_mask=encoded['attention_mask'])
    results = model.test_step(batch)
    assert 'pred_score' not in results[0] and results[0]['image_embed'].shape == (DIM,)
    torch.testing.assert_close(results[1]['text_embed'], prompt_embedding('blue drawing'))


def test_bad_arguments_name_their_config_key(vocab_file):
    with pytest.raises(ValueError, match='model.templates.*one {} slot'):
        build(vocab_file, templates=['no slot here'])
    with pytest.raises(ValueError, match='model.templates: unknown template set'):
        build(vocab_file, templates='nonexistent')
    with pytest.raises(ValueError, match='model.classnames: unknown class-name set'):
        build(vocab_file, classnames='nonexistent')
    with pytest.raises(ValueError, match=r"model.classnames\[1\]"):
        build(vocab_file, classnames=['red', []])


TINY_TOWERS = dict(
    image_tower=dict(type='TimmImageTower', model_name='test_resnet', pretrained=False),
    text_tower=dict(type='HFTextTower', pretrained=False, pooling='mean',
                    config=dict(model_type='bert', vocab_size=len(SPECIAL) + len(WORDS), hidden_size=16,
                                num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                max_position_embeddings=16)),
    embed_dim=8,
    mixup=dict(type='CoinFlipMixup', beta=0.1))


def test_dual_encoder_checkpoint_loads_with_no_missing_or_unexpected_key(vocab_file, tmp_path):
    from mmengine.runner import load_checkpoint
    torch.manual_seed(0)
    trained = DualEncoder(**TINY_TOWERS)
    path = tmp_path / 'dual_encoder.pth'
    torch.save(dict(state_dict=trained.state_dict()), path)

    torch.manual_seed(1)
    model = ZeroShotClassifier(classnames=CLASSNAMES, templates=TEMPLATES, tokenizer=vocab_file, max_length=12,
                               **TINY_TOWERS)
    assert model.state_dict().keys() == trained.state_dict().keys()
    result = model.load_state_dict(trained.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # The path tools/test.py takes (load_from): mmengine's loader, strict.
    model = ZeroShotClassifier(classnames=CLASSNAMES, templates=TEMPLATES, tokenizer=vocab_file, max_length=12,
                               **TINY_TOWERS)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    images = torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8)
    scores = model.eval().test_step(dict(inputs=dict(images=images), data_samples=None))
    assert [s['pred_score'].shape for s in scores] == [(len(CLASSNAMES),)] * 2
