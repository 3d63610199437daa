from .data_preprocessor import ImageTextDataPreprocessor
from .dual_encoder import DualEncoder
from .heads import LinearProjection, MLPProjection, l2_normalize
from .linear_probe import BatchNormNeck, LinearProbeClassifier
from .losses import InfoNCELoss, Temperature
from .mixup import CoinFlipMixup, MixDecision, block_reversal
from .towers import HFTextTower, TimmImageTower
from .zero_shot import ZeroShotClassifier

__all__ = [
    'DualEncoder', 'ImageTextDataPreprocessor', 'LinearProjection', 'MLPProjection', 'l2_normalize',
    'InfoNCELoss', 'Temperature', 'CoinFlipMixup', 'MixDecision', 'block_reversal', 'TimmImageTower', 'HFTextTower',
    'LinearProbeClassifier', 'BatchNormNeck', 'ZeroShotClassifier'
]
