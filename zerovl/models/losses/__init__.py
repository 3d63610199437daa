from .contrastive import InfoNCELoss, soft_cross_entropy
from .temperature import Temperature

__all__ = ['InfoNCELoss', 'Temperature', 'soft_cross_entropy']
