"""Process-group set-up that also works without CUDA.

MMEngine's ``init_dist`` always calls ``torch.cuda.set_device`` and its DDP wrapper gets ``device_ids``,
so on a CPU-only machine it fails. A run on the GPU is left to MMEngine (NCCL); a run on the CPU, on a
machine without a GPU or pinned there next to one (``--device cpu``), gets a gloo group we start from
the launcher's environment *before* the Runner is built (the Runner skips ``init_dist`` when a group
exists), and DDP runs on CPU modules (``device_ids=None``). Two processes sharing one GPU through NCCL
would fail, so the choice follows the run's device, not whether a GPU happens to be visible.
"""
import os

import torch.distributed as dist
from mmengine.config import Config

from zerovl.utils.device import training_device

LAUNCHERS = ('none', 'pytorch', 'slurm')


def init_cpu_process_group(launcher: str) -> None:
    """Start a gloo process group from torchrun's (or srun's) environment variables."""
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or dist.is_initialized():
        return
    if launcher == 'slurm':
        _slurm_to_torchrun_env()
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'launcher={launcher!r} needs the environment variables {missing}; '
                           'start the job with tools/dist_train.sh (torchrun) or srun')
    dist.init_process_group(backend='gloo', init_method='env://')


def _slurm_to_torchrun_env() -> None:
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        # The first host of the job's node list; scontrol expands compressed lists like node[1-4].
        nodes = os.popen(f'scontrol show hostnames {os.environ["SLURM_NODELIST"]}').read().split()
        os.environ['MASTER_ADDR'] = nodes[0]


def prepare_distributed(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` and, for a run on the CPU, start gloo and let DDP wrap CPU modules."""
    cfg.launcher = launcher
    if launcher == 'none' or training_device() != 'cpu':
        return
    init_cpu_process_group(launcher)
    wrapper = dict(type='zerovl.ZeroVLDistributedDataParallel')
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    # Assigned whole: Config.setdefault hands back the default it was given, not the stored copy.
    env_cfg = dict(cfg.get('env_cfg') or {})
    env_cfg['dist_cfg'] = dict(env_cfg.get('dist_cfg') or {}, backend='gloo')
    cfg.env_cfg = env_cfg
