# The demo recipe (configs/zerovl/zerovl_demo.py) with one switch: the image tower is this project's
# CompactConvTower instead of timm's resnet10t. Train from the repository root:
#   python tools/train.py projects/example_project/configs/zerovl_demo_compact_conv.py
_base_ = ['../../../configs/zerovl/zerovl_demo.py']

# Importing the package registers CompactConvTower and SigLIPLoss into zerovl's MODELS. tools/train.py
# puts the repository root on sys.path, which makes `projects.` importable.
custom_imports = dict(imports=['projects.example_project.example_project'], allow_failed_imports=False)

model = dict(
    # _delete_: the base tower's timm arguments (model_name, pretrained) mean nothing to this one.
    image_tower=dict(_delete_=True, type='CompactConvTower', widths=(32, 64, 128, 256), depths=(1, 1, 1, 1)))
