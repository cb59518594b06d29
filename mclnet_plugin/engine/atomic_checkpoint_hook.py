"""Checkpoints that a kill can never leave half-written where ``--resume``
looks."""
import glob
import os
import os.path as osp

from mmagic.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

PARTIAL = '.{}.partial'


def fsync_dir(path: str) -> None:
    """Make a rename in directory ``path`` durable (POSIX; a no-op where
    directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partial: str, final: str) -> None:
    """Flush ``partial`` to disk, then rename it to ``final`` in one step:
    a reader sees the old ``final`` or the complete new one."""
    with open(partial, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(partial, final)
    fsync_dir(osp.dirname(osp.abspath(final)))


def write_text_atomically(path: str, text: str) -> None:
    partial = osp.join(osp.dirname(path), PARTIAL.format(osp.basename(path)))
    with open(partial, 'w') as f:
        f.write(text)
    publish(partial, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` with crash-safe files.

    MMEngine writes ``iter_K.pth`` in place, deletes the oldest kept
    checkpoint *before* writing the new one, and rewrites ``last_checkpoint``
    in place. A kill (preemption, OOM killer, a node going down) in the
    middle leaves a truncated file, and with ``max_keep_ckpts=1`` no complete
    checkpoint at all. Here each checkpoint is written to a hidden
    ``.iter_K.pth.partial``, fsynced and renamed; ``last_checkpoint`` is
    replaced the same way, only after that; the oldest checkpoint is deleted
    last. A kill at any point leaves ``last_checkpoint`` naming a complete
    checkpoint; the next run's hook removes stale partial files.

    Same arguments as ``CheckpointHook``. Checkpoints to a remote backend
    (``backend_args``) are written as MMEngine writes them.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._atomic() and is_main_process():
            pattern = osp.join(self.out_dir, PARTIAL.format('*'))
            for stale in glob.glob(pattern):
                os.remove(stale)

    def _atomic(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._atomic():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        if self.max_keep_ckpts > 0 and step not in self.keep_ckpt_ids:
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            # the checkpoint records which checkpoints are kept
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = PARTIAL.format(filename)
        # Runner.save_checkpoint writes on the main process only
        runner.save_checkpoint(
            self.out_dir,
            partial,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            **self.args)
        if not is_main_process():
            return
        publish(osp.join(self.out_dir, partial), self.last_ckpt)
        write_text_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old):
                os.remove(old)
