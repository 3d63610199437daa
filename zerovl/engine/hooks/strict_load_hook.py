"""Refuses a ``load_from`` / ``resume`` checkpoint that does not fit the model, before its weights are copied.

MMEngine's ``Runner.load_checkpoint`` loads with ``strict=False`` and only logs missing or mis-shaped keys:
``tools/test.py`` with an empty state dict, or with a checkpoint of another ``embed_dim``, evaluated random
weights and printed their metrics with exit status 0. The Runner calls ``after_load_checkpoint`` between
reading the file and copying its state dict into the model, so this hook can stop the load there.

Partial fine-tuning (a checkpoint that legitimately lacks or adds modules) opts out with
``load_from_strict = False`` in the config; the misfit is then logged as a warning, as MMEngine does.
"""
import re
from typing import Mapping

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from zerovl.registry import HOOKS
from zerovl.utils.state_dict_fit import TRAINING_STATE_PREFIXES, StateDictMismatchError, check_state_dict_fits
from .custom_hooks import ensure_custom_hook

STRICT_KEY = 'load_from_strict'
OPT_OUT_HINT = (f'Set {STRICT_KEY} = False in the config (or --cfg-options {STRICT_KEY}=False) only to load a '
                'checkpoint that is meant to fit partially, e.g. for fine-tuning a changed model '
                '(docs/training.md, "Loading checkpoints").')
# The prefix MMEngine's Runner.load_checkpoint strips by default (revise_keys) after this hook has run.
WRAPPER_PREFIX = re.compile(r'^module\.')


def checkpoint_model_state(checkpoint: Mapping) -> dict:
    """The state dict as the Runner will load it: under ``state_dict`` (or the whole checkpoint), with
    DDP's ``module.`` prefix removed."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    return {WRAPPER_PREFIX.sub('', key): value for key, value in state_dict.items()}


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Stops ``Runner.load_checkpoint`` with the list of missing, unexpected and mis-shaped keys.

    Runs last among the ``after_load_checkpoint`` hooks, so that any hook which adjusts the checkpoint
    has done so. ``tools/train.py``, ``tools/test.py`` and every tool loading a config through
    :func:`zerovl.utils.load_config` add it when a config's ``custom_hooks`` leaves it out.
    """

    priority = 'LOWEST'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = f'checkpoint {runner._load_from}' if getattr(runner, '_load_from', None) else 'the checkpoint'
        try:
            check_state_dict_fits(model, checkpoint_model_state(checkpoint), source, hint=OPT_OUT_HINT,
                                  optional_prefixes=TRAINING_STATE_PREFIXES)
        except StateDictMismatchError as error:
            if runner.cfg.get(STRICT_KEY, True):
                raise
            runner.logger.warning(f'{STRICT_KEY} = False, loading what fits:\n{error}')


def ensure_strict_load_hook(cfg) -> None:
    """Add ``StrictLoadHook`` to ``cfg.custom_hooks`` unless it is there: a config that replaces the list
    of ``configs/_base_/default_runtime.py`` must not silently lose strict loading."""
    ensure_custom_hook(cfg, StrictLoadHook)
