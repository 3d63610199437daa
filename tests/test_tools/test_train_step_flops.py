"""benchmark_train.py's model FLOPs and MFU: the count of a tiny tower pair against a count by hand, the
peak table, and the arithmetic from samples/s to MFU."""
import pytest

from zerovl.testing import load_script

SCRIPT = 'tools/benchmarks/benchmark_train.py'


@pytest.fixture(scope='module')
def flops():
    load_script(SCRIPT, register=True)  # puts tools/benchmarks on the path
    import train_step_flops
    return train_step_flops


def transformer_layer_forward(tokens: int, width: int, hidden: int) -> int:
    """Matrix-product FLOPs of one pre/post-norm transformer layer on one sequence: q, k, v and the output
    projection, the two MLP layers, and attention's two products (scores and weighted sum) over all heads."""
    projections = 2 * tokens * width * (3 * width) + 2 * tokens * width * width
    mlp = 2 * (2 * tokens * width * hidden)
    attention = 2 * (2 * tokens * tokens * width)
    return projections + mlp + attention


def test_tiny_towers_count_what_a_hand_count_gives(flops):
    """ViT (conv patch embedding, 6 layers) + 1-layer BERT + linear projections + the two B x B logit
    products of the loss: forward once, backward twice, except the patch convolution, whose input (the
    images) needs no gradient, so its backward is the weight gradient alone. Attention is included: a
    count that missed the fused attention kernel would come out short by its products."""
    from zerovl.utils import register_all_modules
    from train_step_setup import build_model, settings_for
    import benchmark_train
    register_all_modules()
    batch, caption_length = 4, 25
    args = benchmark_train.parse_args(['--towers', 'tiny', '--caption-length', str(caption_length)])
    settings = settings_for(args, 'tiny', None, 32, batch, batch, 'fp32')
    model = build_model(settings)
    vit = model.image_tower.model
    text = settings.model['text_tower']['config']
    embed = settings.model['embed_dim']
    patch, image = 8, 32
    patches = (image // patch) ** 2
    patch_conv = 2 * patches * (3 * patch * patch) * vit.embed_dim
    vit_layers = len(vit.blocks) * transformer_layer_forward(patches + vit.num_prefix_tokens, vit.embed_dim,
                                                             vit.blocks[0].mlp.fc1.out_features)
    bert_layers = text['num_hidden_layers'] * transformer_layer_forward(caption_length, text['hidden_size'],
                                                                        text['intermediate_size'])
    projections = 2 * vit.embed_dim * embed + 2 * text['hidden_size'] * embed
    loss = 2 * (2 * batch * embed)  # image->text and text->image logits, per sample
    expected = 3 * (patch_conv + vit_layers + bert_layers + projections + loss) - patch_conv
    counted = flops.count_step_flops(model, batch, image, caption_length)
    assert counted['counted_batch'] == batch
    assert counted['flops_per_sample'] == expected


def test_known_gpus_have_a_peak_and_the_flag_wins(flops):
    assert flops.device_peak('NVIDIA H200').tflops == 989.5
    assert flops.device_peak('NVIDIA H200 NVL').tflops == 835.5  # the specific name before the family
    assert flops.device_peak('NVIDIA H100 80GB HBM3').tflops == 989.5
    assert flops.device_peak('NVIDIA H100 PCIe').tflops == 756.5
    assert flops.device_peak('NVIDIA A100-SXM4-80GB').tflops == 312.0
    unknown = flops.device_peak('CPU')
    assert unknown.tflops is None and '--peak-tflops' in unknown.source
    assert flops.device_peak('CPU', 2.5) == flops.Peak(2.5, '--peak-tflops')
    assert flops.device_peak('NVIDIA H200', 700.0).tflops == 700.0


def test_utilisation_is_flops_times_samples_per_second_over_the_peak(flops):
    results = dict(dga=dict(batch_size=100, median_s=0.5), failed=dict(failed='out of memory'))
    flops.add_utilisation(results, 1e9, flops.Peak(1.0, 'test'))
    assert results['dga']['model_tflops_per_s'] == pytest.approx(0.2)  # 200 samples/s x 1 GFLOP
    assert results['dga']['mfu'] == pytest.approx(0.2)
    assert results['failed'] == dict(failed='out of memory')
    flops.add_utilisation(results, 1e9, flops.Peak(None, 'unknown'))
    assert results['dga']['mfu'] is None and results['dga']['model_tflops_per_s'] == pytest.approx(0.2)
