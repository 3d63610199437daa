"""zerovl: contrastive vision-language pre-training with limited resources (ZeroVL) on MMEngine."""
from .version import __version__

__all__ = ['__version__']
