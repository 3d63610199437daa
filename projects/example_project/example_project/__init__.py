"""Importing this package registers its modules into zerovl's MODELS registry.

Configs load it with ``custom_imports = dict(imports=['projects.example_project.example_project'])``.
"""
from .compact_conv_tower import CompactConvTower
from .siglip_loss import SigLIPLoss, sigmoid_targets

__all__ = ['CompactConvTower', 'SigLIPLoss', 'sigmoid_targets']
