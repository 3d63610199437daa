"""TensorBoard logging, on by default (configs/_base_/default_runtime.py): scalars as MMEngine writes them.

MMEngine's ``TensorboardVisBackend`` records the config as yapf-formatted Python, which costs about 2 s
per run start on a 2-core machine, on top of the formatting the Runner already does for the log and the
work dir's copy of the config. This backend records it as indented JSON instead (milliseconds): the
same keys and values, in TensorBoard's Text tab. Everything else is MMEngine's.
"""
import json

from mmengine.visualization import TensorboardVisBackend
from mmengine.visualization.vis_backend import force_init_env

from zerovl.registry import VISBACKENDS


@VISBACKENDS.register_module()
class ConfigAsJSONTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` writing ``{save_dir}/events.out.tfevents.*``; the config as JSON text."""

    @force_init_env
    def add_config(self, config, **kwargs) -> None:
        text = json.dumps(config.to_dict(), indent=2, default=repr)
        # Indented by four spaces: TensorBoard renders text as Markdown, and this keeps it a code block.
        self._tensorboard.add_text('config', '\n'.join('    ' + line for line in text.splitlines()))
