"""DDP wrapper that lets the model run its own training step."""
from mmengine.model import MMDistributedDataParallel

from zerovl.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ZeroVLDistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper runs preprocess → forward → update itself and never calls the model's
    ``train_step``, which leaves no room for a step with several backward passes (DGA). This one hands
    the step to the model and passes itself along, so forwards that are back-propagated go through DDP
    (its gradient hooks fire) and the model decides when gradients are synchronised."""

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, ddp=self)
