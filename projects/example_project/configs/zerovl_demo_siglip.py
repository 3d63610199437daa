# The demo recipe (configs/zerovl/zerovl_demo.py) trained with SigLIP's pairwise sigmoid loss instead of
# InfoNCE; mixup and DGA (batch 64 in sub-batches of 32) stay on. Train from the repository root:
#   python tools/train.py projects/example_project/configs/zerovl_demo_siglip.py
_base_ = ['../../../configs/zerovl/zerovl_demo.py']

custom_imports = dict(imports=['projects.example_project.example_project'], allow_failed_imports=False)

model = dict(
    # _delete_: InfoNCE's temperature argument means nothing to SigLIP, which learns a scale and a bias.
    loss=dict(_delete_=True, type='SigLIPLoss', scale_init=10.0, bias_init=-10.0, learnable=True,
              gather_with_grad=True))

# No weight decay on the loss's scale and bias: decay would pull log t and b towards 0 (t = 1, b = 0),
# away from where the loss needs them, for no regularising benefit on two scalars.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'loss_module': dict(decay_mult=0.0)}))
