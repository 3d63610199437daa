"""optim_wrapper.optimizer.fused=True / foreach=True: the same AdamW step as the default, built from the
schedule's config the way the Runner builds it."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn


def schedule_optim_wrapper(**optimizer_switches):
    cfg = Config.fromfile('configs/_base_/schedules/zerovl_20e.py').optim_wrapper
    cfg.optimizer.update(optimizer_switches)
    return cfg


def adamw_steps(model, cfg, steps=3):
    wrapper = build_optim_wrapper(model, cfg)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss = model(torch.randn(6, 5, generator=gen)).pow(2).mean()
        wrapper.update_params(loss)
    return wrapper, {name: p.detach().clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize('switch', ['fused', 'foreach'])
def test_fused_and_foreach_adamw_step_like_the_default(switch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 3))
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    _, expected = adamw_steps(copy.deepcopy(model), schedule_optim_wrapper(foreach=False))
    wrapper, params = adamw_steps(model, schedule_optim_wrapper(**{switch: True}))
    assert wrapper.optimizer.defaults[switch] is True  # the config key reached torch's AdamW
    for name in expected:
        assert not torch.equal(params[name], initial[name]), name  # the steps moved every parameter
        torch.testing.assert_close(params[name], expected[name], rtol=1e-6, atol=1e-7, msg=name)
