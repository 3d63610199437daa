# The CPU reproduction's dual encoder (configs/reproduction/): the demo's, smaller, with LayerNorm in both
# towers (ZeroVL's ViT has LayerNorm; a BatchNorm tower would confound the sampling experiment,
# docs/methods/debiased_sampling.md) and ZeroVL's constant temperature of 0.02.
_base_ = ['./demo_resnet10t_bert2.py']

model = dict(
    embed_dim=64,
    # timm's smallest ConvNeXt (LayerNorm, 0.2 M parameters): a step of 128 images at 32 px costs ~0.1 s.
    image_tower=dict(model_name='test_convnext'),
    text_tower=dict(config=dict(hidden_size=64, intermediate_size=128)),
    loss=dict(temperature=dict(init=0.02)),
)
