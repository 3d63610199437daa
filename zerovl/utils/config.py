"""Loading a config the way every tool does."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from zerovl.utils.config_overrides import check_overrides
from zerovl.utils.custom_data import apply_custom_data


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> Config:
    """``path`` with command-line overrides merged in, a work dir (the one given, the config's own, or
    ``work_dirs/<config name>``) and strict checkpoint loading (``StrictLoadHook``) even where the config's
    ``custom_hooks`` replaced the default list. A string override of a number or bool raises
    ``ConfigOverrideError`` naming the key (``lr=fast`` would otherwise fail much later, far from its
    cause)."""
    cfg = Config.fromfile(path)
    if cfg_options:
        check_overrides(cfg, cfg_options, path)
        cfg.merge_from_dict(cfg_options)
    # After the overrides: a custom_data key changed on the command line moves all three loaders.
    apply_custom_data(cfg)
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    # Imported here: zerovl.engine imports zerovl.models, which imports zerovl.utils.
    from zerovl.engine.hooks.strict_load_hook import ensure_strict_load_hook
    ensure_strict_load_hook(cfg)
    return cfg
