"""Makes the randomness of every training iteration a pure function of (seed, rank, iteration)."""
import torch
from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from zerovl.utils.dist import get_rank
from zerovl.utils.rng import iteration_seed, seed_everything


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseeds all global generators before each training step and before each batch is loaded.

    Dropout masks, and the augmentations of batches loaded in the main process (``num_workers=0``), then
    depend only on the config seed, the rank and the iteration, not on what ran before (validation,
    checkpointing, a restart): a resumed run repeats the uninterrupted one exactly, at an epoch boundary
    or in the middle of an epoch, without storing RNG states. This is ZeroVL's ``stable_random: step``
    with the rank mixed in, so ranks do not share dropout masks.

    Two streams per iteration i:

    * ``'iter'``, set in ``before_train_iter``: the training step of iteration i.
    * ``'batch'``, the loading of iteration i's batch. The loader fetches batch i+1 right after
      ``after_train_iter(i)``, so that is where it is set; the epoch's first batch is fetched after
      ``before_train_epoch``, which sets it for ``runner.iter``. After a mid-epoch resume at iteration k
      ``runner.iter`` is k, so the first batch loaded sees exactly the state it had in the uninterrupted
      run, where ``after_train_iter(k-1)`` set it (the train step in between does not matter).

    Creating an epoch's DataLoader iterator draws the workers' base seed from the global torch
    generator, between the epoch's reseed and the first fetch; a resumed run creates an iterator where
    the uninterrupted one did not, which would shift the first batch's draws. So the train loader gets
    a generator of its own, seeded per epoch. With ``num_workers > 0`` augmentation runs in the workers,
    which MMEngine seeds with (seed, rank, worker id) whenever they start: see docs/training.md.

    The priority is the lowest so that each reseed comes after every other hook of the same event:
    nothing a hook draws can sit between a reseed and the step or fetch it is meant for.
    """

    priority = 'LOWEST'

    def __init__(self, seed: int = None):
        self.seed = seed

    def _seed(self, runner) -> int:
        return self.seed if self.seed is not None else runner.seed

    def before_train_epoch(self, runner) -> None:
        seed, rank = self._seed(runner), get_rank()
        loader_seed = iteration_seed(seed, rank, runner.epoch, stream='loader')
        runner.train_dataloader.generator = torch.Generator().manual_seed(loader_seed)
        seed_everything(iteration_seed(seed, rank, runner.iter, stream='batch'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        seed_everything(iteration_seed(self._seed(runner), get_rank(), runner.iter))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        # runner.iter is still i here: the loop counts the iteration after its hooks ran.
        seed_everything(iteration_seed(self._seed(runner), get_rank(), runner.iter + 1, stream='batch'))
