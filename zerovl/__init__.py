"""zerovl: contrastive vision-language pre-training with limited resources (ZeroVL) on MMEngine."""
from .version import __version__

__all__ = ['__version__', 'create_model', 'list_models']


# The one-call API at the top level, as open_clip and mmpretrain offer theirs. Imported when called, so that
# ``import zerovl`` (every tool, every data-loader worker) does not pay for torch, timm and transformers.
def create_model(config_or_export, checkpoint=None, device='cpu', cfg_options=None):
    """``(model, preprocess, tokenizer)``; see :func:`zerovl.apis.create.create_model`."""
    from .apis.create import create_model as create
    return create(config_or_export, checkpoint, device, cfg_options)


def list_models():
    """Short names of the model configs ``create_model`` accepts; see :mod:`zerovl.apis.model_names`."""
    from .apis.model_names import list_models as names
    return names()
