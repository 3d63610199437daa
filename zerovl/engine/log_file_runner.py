"""A Runner that keeps its start-up report in the log file and off the terminal (tools/test.py).

MMEngine's Runner logs the environment, the whole config and the hook order at INFO as it starts, about
400 lines before an evaluation's first batch; someone evaluating a checkpoint wants the progress and the
table. This Runner's terminal handler shows warnings and errors only, while the log file keeps every
line, so nothing is lost: the tool says where the file is.
"""
import logging
import os.path as osp

from mmengine.logging import MMLogger
from mmengine.runner import Runner


def quiet_terminal(logger: logging.Logger, level: int = logging.WARNING) -> None:
    """Raise the level of ``logger``'s terminal handlers to ``level``; its file handlers keep theirs."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(max(handler.level, level))


class LogFileRunner(Runner):
    """``Runner`` whose INFO lines go to ``{work_dir}/{timestamp}/{timestamp}.log`` only."""

    def build_logger(self, log_level='INFO', log_file=None, **kwargs) -> MMLogger:
        logger = super().build_logger(log_level, log_file, **kwargs)
        quiet_terminal(logger)
        return logger

    @property
    def log_file(self) -> str:
        return osp.join(self.log_dir, f'{self.timestamp}.log')
