# ZeroVL's dual encoder (docs/method.md §1): ViT-B/16 pre-trained on ImageNet-21k + bert-base-uncased
# ([CLS] of the last layer, no pooler), bias-free linear heads to 512, L2 norm, InfoNCE with τ = 0.02.
# Weights come from the hub; for offline use point `checkpoint` (timm) and `model_name_or_path` (HF) at
# local files, e.g. --cfg-options model.image_tower.checkpoint=/path/vit.safetensors.
model = dict(
    type='DualEncoder',
    embed_dim=512,
    image_tower=dict(type='TimmImageTower', model_name='vit_base_patch16_224.augreg_in21k', pretrained=True),
    text_tower=dict(type='HFTextTower', model_name_or_path='bert-base-uncased', pretrained=True, pooling='cls'),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.02, learnable=False)),
    # Leaf configs add ZeroVL's methods: mixup=dict(type='CoinFlipMixup', beta=0.1) mixes one modality
    # per step; dga=dict(sub_batch_size=128) turns on decoupled gradient accumulation (per GPU).
    data_preprocessor=dict(type='ImageTextDataPreprocessor',
                           mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
)
