"""Checkpoints of other code bases, mapped onto zerovl's models."""
from .converted_config import (NORMALISATIONS, config_snippet, conversion_meta, model_overrides, normalisation,
                               save_checkpoint, save_snippet)
from .zerovl_original import (ConvertedCheckpoint, OriginalCheckpointError, check_against_model,
                              convert_state_dict, extract_state_dict)

__all__ = [
    'NORMALISATIONS', 'config_snippet', 'conversion_meta', 'model_overrides', 'normalisation', 'save_checkpoint',
    'save_snippet', 'ConvertedCheckpoint', 'OriginalCheckpointError', 'check_against_model', 'convert_state_dict',
    'extract_state_dict'
]
