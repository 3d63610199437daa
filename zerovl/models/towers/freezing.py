"""Freezing helper shared by the towers."""
from torch import nn


def freeze_module(module: nn.Module) -> None:
    """Stop gradients into ``module``. The towers also keep a frozen module in eval mode (see their
    ``train``), so BatchNorm statistics and dropout do not change a feature that is meant to be fixed."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
