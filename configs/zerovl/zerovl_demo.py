# The demo: ZeroVL's recipe at toy scale, trained from scratch on the synthetic two-domain set on CPU in a
# few minutes (make demo): coin-flipping mixup (β 0.1), decoupled gradient accumulation (batch 64 in
# sub-batches of 32) and caption augmentation. Same code path as zerovl_14m.py; sizes and schedule differ.
# Sampling is shuffled here, not debiased: the CPU-sized tower uses BatchNorm, and single-domain batches
# make BatchNorm's running statistics wrong at evaluation (measured: docs/methods/debiased_sampling.md).
# ZeroVL's ViT has LayerNorm; set batch_sampler.mode='debias' with a LayerNorm tower.
_base_ = [
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

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
    mixup=dict(type='CoinFlipMixup', beta=0.1),
    dga=dict(sub_batch_size=32),
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)

max_epochs = 6
# Scheduler positions follow the run (docs/training.md): end=None is the run's end and run_fraction a share of
# all its iterations (at least 2), so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=1 / 12)  # half an epoch of the 6
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup, end=None,
         convert_to_iter_based=True),
]
train_dataloader = dict(batch_sampler=dict(mode='shuffle'))
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
