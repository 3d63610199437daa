# Runtime shared by every zerovl config.
default_scope = 'zerovl'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Atomic saves (temporary file + rename, then the last_checkpoint pointer, then pruning); keeps the
    # last 3. For mid-epoch checkpoints: checkpoint=dict(by_epoch=False, interval=N) (docs/training.md).
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_last=True),
    # MMEngine's DistSamplerSeedHook, also for a shard dataset that batches itself (no sampler to seed).
    sampler_seed=dict(type='SamplerSeedHook'),
)
# MessageHubStateHook keeps checkpoints free of pickled objects so that they load with torch.load(weights_only=True).
custom_hooks = [
    dict(type='MessageHubStateHook'),
    # Per-iteration reseeding: resumed runs repeat the uninterrupted run's dropout masks exactly.
    dict(type='IterationSeedHook'),
    # The train sampler's position in checkpoints: ResumableEpochBasedTrainLoop resumes mid-epoch from it.
    dict(type='SamplerStateHook'),
    # load_from / resume: a checkpoint that does not fit the model (missing, unexpected or mis-shaped keys)
    # stops with the list instead of MMEngine's logged warning. Opt out for partial fine-tuning with
    # load_from_strict = False (docs/training.md, "Loading checkpoints").
    dict(type='StrictLoadHook'),
]

# Hands each training step to the model, which may back-propagate several times per step (DGA). The
# scope prefix is needed: the Runner looks wrappers up in MMEngine's root registry, ignoring default_scope.
model_wrapper_cfg = dict(type='zerovl.ZeroVLDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo on a machine without CUDA
)

# Scalars (loss, lr, temperature, validation metrics) to {work_dir}/{timestamp}/vis_data/: scalars.json
# (tools/analysis_tools/plot_curves.py draws it) and TensorBoard event files (tensorboard --logdir work_dirs).
# Weights & Biases or MLflow where installed: add dict(type='WandbVisBackend') or dict(type='MLflowVisBackend')
# (docs/logging.md).
vis_backends = [dict(type='LocalVisBackend'), dict(type='ConfigAsJSONTensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
load_from_strict = True
resume = False
randomness = dict(seed=2021, deterministic=False)
