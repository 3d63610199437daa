"""SigLIPLoss across 2 gloo processes: after DDP-style averaging every rank holds exactly the gradient of
the single-process loss of the global batch (towers, scale and bias), and gathering the texts as
constants does not."""
import pytest
import torch
from torch import nn

from projects.example_project.example_project import SigLIPLoss
from zerovl.models import block_reversal
from zerovl.models.heads import l2_normalize
from zerovl.testing import run_distributed

N, D_IN, D, WORLD = 8, 6, 5, 2
LAM = 0.3
# (gather_with_grad, mixup): mixup partners are reversals within each rank's batch, as in DualEncoder.
SCENARIOS = [(True, False), (True, True), (False, False)]


def make_problem():
    gen = torch.Generator().manual_seed(0)
    x_img = torch.randn(N, D_IN, generator=gen, dtype=torch.float64)
    x_txt = torch.randn(N, D_IN, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    towers = nn.ModuleDict(dict(image=nn.Linear(D_IN, D), text=nn.Linear(D_IN, D))).double()
    # Not the paper's init: t = 10, b = -10 would leave the bias gradient nearly a constant.
    loss_fn = SigLIPLoss(scale_init=4.0, bias_init=-1.0).double()
    return x_img, x_txt, towers, loss_fn


def gradients(towers, loss_fn):
    params = dict(towers.named_parameters(), log_scale=loss_fn.log_scale, bias=loss_fn.bias)
    return {name: p.grad.clone() for name, p in params.items()}


def single_process(mixup):
    x_img, x_txt, towers, loss_fn = make_problem()
    mix = (LAM, block_reversal(N, N // WORLD)) if mixup else None
    loss = loss_fn(l2_normalize(towers['image'](x_img)), l2_normalize(towers['text'](x_txt)), mix=mix)
    loss.backward()
    return loss.item(), gradients(towers, loss_fn)


def _rank(rank, world_size, gather_with_grad, mixup):
    """One rank of a DDP run: its slice of the batch, then the gradients averaged over ranks as DDP does."""
    x_img, x_txt, towers, loss_fn = make_problem()
    loss_fn.gather_with_grad = gather_with_grad
    per_rank = N // world_size
    rows = slice(rank * per_rank, (rank + 1) * per_rank)
    mix = (LAM, block_reversal(per_rank, per_rank)) if mixup else None
    loss = loss_fn(l2_normalize(towers['image'](x_img[rows])), l2_normalize(towers['text'](x_txt[rows])), mix=mix)
    loss.backward()
    grads = gradients(towers, loss_fn)
    for grad in grads.values():
        torch.distributed.all_reduce(grad)
        grad /= world_size
    mean_loss = torch.tensor(loss.item(), dtype=torch.float64)
    torch.distributed.all_reduce(mean_loss)
    return (mean_loss / world_size).item(), grads


def _all_scenarios(rank, world_size):
    # One spawn for every scenario: starting processes costs far more than the maths.
    return {scenario: _rank(rank, world_size, *scenario) for scenario in SCENARIOS}


@pytest.fixture(scope='module')
def two_process_results():
    return run_distributed(_all_scenarios, WORLD)


@pytest.mark.parametrize('mixup', [False, True])
def test_gather_with_grad_equals_full_batch_gradient(two_process_results, mixup):
    full_loss, full_grads = single_process(mixup)
    for rank_results in two_process_results:
        rank_loss, rank_grads = rank_results[(True, mixup)]
        assert rank_loss == pytest.approx(full_loss, rel=1e-12)
        assert rank_grads.keys() == full_grads.keys()
        for name, grad in full_grads.items():
            torch.testing.assert_close(rank_grads[name], grad, rtol=1e-10, atol=1e-12, msg=name)


def test_detached_gather_loses_the_text_side_gradient(two_process_results):
    full_loss, full_grads = single_process(False)
    rank_loss, rank_grads = two_process_results[0][(False, False)]
    assert rank_loss == pytest.approx(full_loss, rel=1e-12)  # the same value ...
    # ... but the text tower learns only from its own rank's images: not the full-batch gradient.
    text_diff = max((rank_grads[k] - full_grads[k]).abs().max().item() for k in ('text.weight', 'text.bias'))
    assert text_diff > 1e-3
    # The image side needs no gradient through the gather, so it stays exact.
    torch.testing.assert_close(rank_grads['image.weight'], full_grads['image.weight'], rtol=1e-10, atol=1e-12)
