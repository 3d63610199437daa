"""What the image and text towers share: an optionally frozen wrapped model."""
from torch import nn


def freeze_module(module: nn.Module) -> None:
    """Stop gradients into ``module`` and put it in eval mode."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)


class FreezableTower(nn.Module):
    """A tower around ``self.model``. A frozen model stays in eval mode even when the dual encoder is put
    in train mode, so BatchNorm statistics and dropout do not change a feature that is meant to be fixed."""

    frozen = False

    def freeze(self) -> None:
        self.frozen = True
        freeze_module(self.model)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self
