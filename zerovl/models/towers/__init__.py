from .hf_tower import HFTextTower
from .timm_tower import TimmImageTower

__all__ = ['TimmImageTower', 'HFTextTower']
