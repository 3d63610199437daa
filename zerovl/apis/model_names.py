"""The model configs ``zerovl.create_model`` knows by a short name: the config file's name without ``.py``.

    zerovl.list_models()   # ['zerovl_14m', 'zerovl_baseline_14m', 'zerovl_coco_ft', 'zerovl_demo', ...]

Listed: the recipes that build a dual encoder and embed images and texts (``configs/zerovl``, the
pre-training recipes; ``configs/real``, pre-trained towers offline; ``configs/finetune``). The ablation
variants, the zero-shot and linear-probe evaluation configs are left out: they are run by tools/test.py
or are recipes of one of the listed models. Configs are read from the repository's ``configs/``.
"""
from pathlib import Path
from typing import Dict, List

MODEL_CONFIG_FOLDERS = ('zerovl', 'real', 'finetune')


def configs_root() -> Path:
    return Path(__file__).resolve().parents[2] / 'configs'


def model_configs() -> Dict[str, str]:
    """{short name: config path}, sorted by name; two configs with one name would be ambiguous."""
    root = configs_root()
    if not root.is_dir():
        raise FileNotFoundError(f'{root} does not exist: list_models reads the configs of a zerovl checkout '
                                '(the package is installed from the repository, configs/ stays there)')
    found: Dict[str, str] = {}
    for folder in MODEL_CONFIG_FOLDERS:
        for path in sorted((root / folder).glob('*.py')):
            if path.stem in found:
                raise ValueError(f'two model configs are named {path.stem!r}: {found[path.stem]} and {path}')
            found[path.stem] = str(path)
    return dict(sorted(found.items()))


def list_models() -> List[str]:
    """Short names ``create_model`` accepts in place of a config path."""
    return list(model_configs())


def model_config_path(name: str) -> str:
    configs = model_configs()
    if name not in configs:
        raise KeyError(f'no model config named {name!r}; zerovl.list_models() has {sorted(configs)} '
                       '(or give a config file or an export folder)')
    return configs[name]
