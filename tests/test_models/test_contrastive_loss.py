"""InfoNCE: values against a direct formula, and gradients across 2 gloo processes against one process."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zerovl.models.heads import l2_normalize
from zerovl.models.losses import InfoNCELoss, Temperature
from zerovl.testing import run_distributed

N, D_IN, D = 8, 6, 5


def reference_loss(images, texts, tau):
    """ZeroVL's formula written out: the mean of -log softmax over rows and over columns."""
    sim = images @ texts.t() / tau
    diag = torch.arange(len(images))
    i2t = -(sim.log_softmax(dim=1)[diag, diag]).mean()
    t2i = -(sim.log_softmax(dim=0)[diag, diag]).mean()
    return 0.5 * (i2t + t2i)


def make_problem(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x_img = torch.randn(N, D_IN, generator=gen, dtype=torch.float64)
    x_txt = torch.randn(N, D_IN, generator=gen, dtype=torch.float64)
    torch.manual_seed(seed)
    towers = nn.ModuleDict(dict(image=nn.Linear(D_IN, D), text=nn.Linear(D_IN, D))).double()
    return x_img, x_txt, towers


def test_loss_matches_formula_and_cross_entropy():
    images = l2_normalize(torch.randn(N, D)).double()
    texts = l2_normalize(torch.randn(N, D)).double()
    loss = InfoNCELoss(temperature=dict(init=0.05))
    expected = reference_loss(images, texts, 0.05)
    torch.testing.assert_close(loss(images, texts), expected)
    # λ = 1 mixup targets reduce to the plain loss; λ = 0 swaps every target for its partner.
    partner = torch.arange(N).flip(0)
    torch.testing.assert_close(loss(images, texts, mix=(1.0, partner)), expected)
    swapped = 0.5 * (F.cross_entropy(images @ texts.t() / 0.05, partner)
                     + F.cross_entropy(texts @ images.t() / 0.05, partner))
    torch.testing.assert_close(loss(images, texts, mix=(0.0, partner)), swapped)


def test_temperature_clamps_and_validates():
    tau = Temperature(init=0.02, learnable=True)
    with torch.no_grad():
        tau.value.fill_(10.0)
    assert tau().item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match='outside'):
        Temperature(init=1.0)
    assert len(list(Temperature(learnable=False).parameters())) == 0
    assert len(list(Temperature(learnable=True).parameters())) == 1


def single_process_grads(learnable):
    x_img, x_txt, towers = make_problem()
    loss_fn = InfoNCELoss(temperature=dict(init=0.05, learnable=learnable)).double()
    loss = loss_fn(l2_normalize(towers['image'](x_img)).double(), l2_normalize(towers['text'](x_txt)).double())
    loss.backward()
    grads = {name: p.grad.clone() for name, p in towers.named_parameters()}
    if learnable:
        grads['tau'] = loss_fn.temperature.value.grad.clone()
    return loss.item(), grads


SCENARIOS = [(True, False), (True, True), (False, False)]  # (gather_with_grad, learnable τ)


def _rank_grads(rank, world_size, gather_with_grad, learnable):
    """One rank of a DDP run: local slice of the batch, gradients averaged over ranks as DDP does."""
    x_img, x_txt, towers = make_problem()
    per_rank = N // world_size
    rows = slice(rank * per_rank, (rank + 1) * per_rank)
    loss_fn = InfoNCELoss(temperature=dict(init=0.05, learnable=learnable),
                          gather_with_grad=gather_with_grad).double()
    loss = loss_fn(l2_normalize(towers['image'](x_img[rows])).double(),
                   l2_normalize(towers['text'](x_txt[rows])).double())
    loss.backward()
    params = dict(towers.named_parameters())
    if learnable:
        params['tau'] = loss_fn.temperature.value
    grads = {}
    for name, p in params.items():
        grad = p.grad.clone()
        torch.distributed.all_reduce(grad)
        grads[name] = grad / world_size
    mean_loss = torch.tensor(loss.item(), dtype=torch.float64)
    torch.distributed.all_reduce(mean_loss)
    return (mean_loss / world_size).item(), grads


def _all_scenarios(rank, world_size):
    # One spawn for every scenario: starting processes costs far more than the maths.
    return {scenario: _rank_grads(rank, world_size, *scenario) for scenario in SCENARIOS}


@pytest.fixture(scope='module')
def two_process_results():
    return run_distributed(_all_scenarios, 2)


@pytest.mark.parametrize('learnable', [False, True])
def test_gather_with_grad_equals_full_batch_on_two_processes(two_process_results, learnable):
    full_loss, full_grads = single_process_grads(learnable)
    for rank_results in two_process_results:
        rank_loss, rank_grads = rank_results[(True, learnable)]
        assert rank_loss == pytest.approx(full_loss, rel=1e-12)
        for name, grad in full_grads.items():
            torch.testing.assert_close(rank_grads[name], grad, rtol=1e-10, atol=1e-12, msg=name)


def test_detached_gather_loses_key_side_gradients(two_process_results):
    full_loss, full_grads = single_process_grads(False)
    rank_loss, rank_grads = two_process_results[0][(False, False)]
    assert rank_loss == pytest.approx(full_loss, rel=1e-12)  # same value ...
    diff = max((rank_grads[k] - g).abs().max().item() for k, g in full_grads.items())
    assert diff > 1e-3  # ... but not the full-batch gradient
