"""Using a trained model outside the training stack: export it, load the export, embed and rank."""
from .export import export_model
from .exported import ExportedModel, ExportError, load_exported, read_manifest
from .inferencer import Ranking, ZeroVLInferencer, ranking_as_lists

__all__ = ['export_model', 'ExportedModel', 'ExportError', 'load_exported', 'read_manifest', 'Ranking',
           'ZeroVLInferencer', 'ranking_as_lists']
