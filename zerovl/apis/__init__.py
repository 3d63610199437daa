"""Using a trained model outside the training stack: build it in one call, export it, load the export, embed
and rank."""
from .create import create_model, load_model
from .export import export_model
from .exported import ExportedModel, ExportError, load_exported, read_manifest
from .inferencer import Ranking, ZeroVLInferencer, ranking_as_lists
from .model_names import list_models

__all__ = ['create_model', 'load_model', 'list_models', 'export_model', 'ExportedModel', 'ExportError',
           'load_exported', 'read_manifest', 'Ranking', 'ZeroVLInferencer', 'ranking_as_lists']
