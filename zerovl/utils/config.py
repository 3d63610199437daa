"""Loading a config the way every tool does."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from zerovl.utils.config_overrides import check_overrides
from zerovl.utils.custom_data import apply_custom_data
from zerovl.utils.experiment_name import unique_experiment_name


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> Config:
    """``path`` with command-line overrides merged in, a work dir (the one given, the config's own, or
    ``work_dirs/<config name>``) and strict checkpoint loading (``StrictLoadHook``) even where the config's
    ``custom_hooks`` replaced the default list, and an experiment name no earlier run of this process
    used (:func:`unique_experiment_name`). A string override of a number or bool raises
    ``ConfigOverrideError`` naming the key (``lr=fast`` would otherwise fail much later, far from its
    cause)."""
    cfg = Config.fromfile(path)
    if cfg_options:
        check_overrides(cfg, cfg_options, path)
        cfg.merge_from_dict(cfg_options)
    # After the overrides: a custom_data key changed on the command line moves all three loaders.
    apply_custom_data(cfg)
    config_name = osp.splitext(osp.basename(path))[0]
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join('work_dirs', config_name)
    cfg.experiment_name = unique_experiment_name(cfg.get('experiment_name') or config_name)
    # Imported here: zerovl.engine imports zerovl.models, which imports zerovl.utils.
    from zerovl.engine.hooks.strict_load_hook import ensure_strict_load_hook
    ensure_strict_load_hook(cfg)
    return cfg
