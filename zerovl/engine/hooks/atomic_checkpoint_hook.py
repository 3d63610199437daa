"""A CheckpointHook whose files are never seen half-written and whose pruning never strands a resume."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from zerovl.engine.resume_checkpoint import POINTER, pointer_text
from zerovl.registry import HOOKS
from zerovl.utils.atomic_file import partial_path, publish, remove_partials, write_text_atomically


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that saves checkpoints atomically.

    MMEngine 0.10.7 writes a checkpoint straight under its final name, then overwrites the
    ``last_checkpoint`` pointer in place, and deletes the oldest kept checkpoint *before* writing the
    new one. A process killed during a save leaves a truncated ``iter_N.pth`` (or an empty pointer,
    which breaks ``--resume``), and with ``max_keep_ckpts=1`` no complete checkpoint at all.

    Here a save is, in order: (1) the checkpoint is written under a hidden temporary name in the same
    directory, flushed to disk and renamed to its final name; (2) ``last_checkpoint`` is replaced the
    same way, so it only ever names a complete file, by its path relative to the work dir; (3) only then
    the checkpoint that fell out of the ``max_keep_ckpts`` window is deleted. A kill at any point leaves
    the previous checkpoint loadable and named by ``last_checkpoint``; temporary files left by a kill are
    removed when training starts.
    A kill between (2) and (3) can leave one checkpoint more than ``max_keep_ckpts`` on disk.

    Checkpoints go through this path when ``out_dir`` is local; other back-ends (object stores, whose
    uploads are atomic per object) keep MMEngine's behaviour, as do ``save_best`` checkpoints, which
    resuming does not use.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not (self._is_local() and is_main_process()):
            return
        # Checkpoints go to out_dir, the last_checkpoint pointer to the work dir; they may differ.
        for directory in {self.out_dir, runner.work_dir}:
            for leftover in remove_partials(directory):
                runner.logger.info(f'Removed {leftover}, left by a run that died while saving it.')

    def _is_local(self) -> bool:
        # With the deprecated file_client_args the back-end sits inside a FileClient.
        backend = getattr(self.file_backend, 'client', self.file_backend)
        return isinstance(backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        dropped = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = partial_path(self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, osp.relpath(partial, self.out_dir), self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():  # only rank 0 writes (Runner.save_checkpoint is master_only)
            return
        publish(partial, self.last_ckpt)
        # Relative to the work dir (when inside it), so a copied or moved work dir resumes from its own files.
        pointer = pointer_text(self.last_ckpt, runner.work_dir)
        write_text_atomically(osp.join(runner.work_dir, POINTER), pointer)
        if dropped is not None:
            self._remove(self.filename_tmpl.format(dropped))

    def _keep(self, runner, step: int) -> Optional[int]:
        """Record ``step`` among the kept checkpoints (as MMEngine does, so a resumed run prunes the
        same files) and return the step whose file must go once the new one is safe, if any."""
        if self.max_keep_ckpts <= 0:
            return None
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return None  # saved again at the same step (after a new best checkpoint)
        dropped = self.keep_ckpt_ids.popleft() if len(self.keep_ckpt_ids) == self.max_keep_ckpts else None
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return dropped

    def _remove(self, filename: str) -> None:
        path = osp.join(self.out_dir, filename)
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # DeepSpeed saves checkpoints as directories
            self.file_backend.rmtree(path)
