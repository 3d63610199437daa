"""DGA stays exact with the speed switches on, and its loop never waits for the device.

* torch.compile of a tower (aot_eager backend on CI, see tests/test_models/test_speed_switches.py): pass 1
  runs the no-grad graph, pass 2 the training graph, and the RNG replay must still give pass 2 the
  dropout masks of pass 1.
* No host synchronisation: one DGA step under :func:`zerovl.testing.host_sync.forbid_host_sync` (every
  ``item()``/``bool()``/``float()``/``int()`` of a tensor raises), towers included.
"""
import copy
from unittest import mock

import pytest
import torch
from test_dga import (assert_same_gradients, capture_wrapper, dga_gradients, make_batch, reference_gradients,
                      tiny_model)
from torch._dynamo.testing import CompileCounterWithBackend

import zerovl.models.dga as dga
import zerovl.models.dual_encoder as dual_encoder
from zerovl.models.towers.compiling import compile_in_place
from zerovl.testing.host_sync import HostSyncError, forbid_host_sync

MIXUP = dict(type='CoinFlipMixup', beta=1.0, mode='text')


def test_dga_with_a_compiled_text_tower_equals_the_large_batch_gradient():
    model = tiny_model(mixup=MIXUP)  # dropout 0.1 in both towers
    reference = copy.deepcopy(model)
    counters = []
    for each in (model, reference):
        counters.append(CompileCounterWithBackend('aot_eager'))
        compile_in_place(each.text_tower.model, dict(backend=counters[-1]), 'model.text_tower.compile')
    expected_loss, expected = reference_gradients(reference, make_batch(), 4)
    loss, grads = dga_gradients(model, make_batch(), 4)
    assert counters[0].frame_count >= 1 and counters[1].frame_count >= 1
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert_same_gradients(expected, grads)


def guarded_dga_step(*args, **kwargs):
    with forbid_host_sync():
        return REAL_DGA_STEP(*args, **kwargs)


REAL_DGA_STEP = dga.dga_step


def one_guarded_dga_step(model):
    wrapper = capture_wrapper(model)
    # The DualEncoder calls the step it imported from models/dga.py.
    with mock.patch.object(dual_encoder, 'dga_step', guarded_dga_step):
        return model.train_step(make_batch(), wrapper), wrapper


def test_dga_step_has_no_host_synchronisation():
    model = tiny_model(mixup=MIXUP, dga=dict(sub_batch_size=4))
    log_vars, wrapper = one_guarded_dga_step(model)
    assert torch.isfinite(log_vars['loss']) and wrapper.grads  # the step ran to the optimizer


def test_a_whole_train_step_after_the_first_has_no_host_synchronisation():
    """Beyond the DGA loop: preprocessing, the mixup decision (its counter is read once), the step."""
    model = tiny_model(mixup=MIXUP, dga=dict(sub_batch_size=4))
    wrapper = capture_wrapper(model)
    model.train_step(make_batch(), wrapper)
    with forbid_host_sync():
        log_vars = model.train_step(make_batch(seed=2), wrapper)
    assert torch.isfinite(log_vars['loss'])


def test_the_guard_catches_a_sync_in_the_loss():
    model = tiny_model(dga=dict(sub_batch_size=4))
    forward = model.loss_module.forward

    def loss_that_reads_a_value(image_embeds, text_embeds, mix=None):
        return forward(image_embeds, text_embeds, mix) * (1 + 0 * float(image_embeds.sum()))

    with mock.patch.object(model.loss_module, 'forward', loss_that_reads_a_value):
        with pytest.raises(HostSyncError, match='__float__'):
            one_guarded_dga_step(model)
    assert float(torch.ones(())) == 1.0  # restored afterwards


def test_the_guard_catches_transformers_mask_check_without_the_prepared_mask():
    """Negative control: transformers' own 2D-mask SDPA path calls ``padding_mask.all()`` per forward."""
    model = tiny_model(dga=dict(sub_batch_size=4))
    with mock.patch.object(type(model.text_tower), 'encoder_mask', lambda self, mask: mask):
        with pytest.raises(HostSyncError, match='__bool__'):
            one_guarded_dga_step(model)
