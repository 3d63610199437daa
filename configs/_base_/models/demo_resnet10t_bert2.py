# The demo's dual encoder, sized to train from scratch on the synthetic two-domain set on a CPU in minutes
# (configs/zerovl/zerovl_demo.py). Random init: no weights to fetch. Leaf configs add ZeroVL's methods
# (mixup, dga) as they do on configs/_base_/models/zerovl_vitb16_bert.py.
model = dict(
    type='DualEncoder',
    embed_dim=128,
    # resnet10t learns these 64 px scenes faster than resnet18, at two thirds of its cost on CPU.
    image_tower=dict(type='TimmImageTower', model_name='resnet10t', pretrained=False),
    text_tower=dict(
        type='HFTextTower',
        pretrained=False,
        # From scratch a 2-layer encoder learns a mean over its tokens far faster than a [CLS] summary;
        # zerovl_14m.py keeps ZeroVL's [CLS] pooling on pre-trained BERT.
        pooling='mean',
        # A 2-layer BERT sized for the synthetic vocabulary (107 WordPiece entries).
        config=dict(model_type='bert', vocab_size=128, hidden_size=128, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=256, max_position_embeddings=32)),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.05, learnable=False)),
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)
