"""configs/zerovl/zerovl_14m_shards.py: zerovl_14m.py with its training data read from img2dataset shards."""
from mmengine.config import Config

from zerovl.engine.run_start import configured_batch_size


def test_shard_variant_keeps_the_recipe_and_reads_shards():
    shards = Config.fromfile('configs/zerovl/zerovl_14m_shards.py')
    csv = Config.fromfile('configs/zerovl/zerovl_14m.py')
    loader = shards.train_dataloader
    assert loader.dataset.type == 'ShardImageTextDataset' and loader.batch_size is None and loader.sampler is None
    assert 'batch_sampler' not in loader  # the dataset batches; DataLoader refuses a sampler with it
    assert [source['name'] for source in loader.dataset.sources] == [
        dataset['name'] for dataset in csv.train_dataloader.dataset.datasets]
    assert loader.dataset.num_workers == loader.num_workers
    assert loader.dataset.mode == 'debias' and loader.dataset.pipeline == csv.train_pipeline
    # The run's batch per GPU is the dataset's, so the DGA check still sees 2,048 = 16 x 128.
    assert configured_batch_size(shards) == csv.train_dataloader.batch_size == 2048
    assert shards.model == csv.model and shards.val_dataloader == csv.val_dataloader
    # No hook settings of its own: the default sampler_seed hook accepts a loader without a sampler.
    assert shards.default_hooks == csv.default_hooks
