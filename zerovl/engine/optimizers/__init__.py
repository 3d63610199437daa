from .device_amp_optim_wrapper import DeviceAmpOptimWrapper

__all__ = ['DeviceAmpOptimWrapper']
