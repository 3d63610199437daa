"""zerovl's registries: children of MMEngine's roots, all under the scope ``zerovl``.

Configs name every component by string (``dict(type='DualEncoder')``); with ``default_scope='zerovl'``
the Runner looks the name up here first and falls back to MMEngine's root registries, so MMEngine's
own hooks, optimizers and schedulers stay usable. ``locations`` lets a registry import the modules that
register into it on first use, so a config works without importing zerovl by hand.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['zerovl.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['zerovl.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['zerovl.engine'])
LOG_PROCESSORS = Registry('log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['zerovl.engine'])
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['zerovl.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['zerovl.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, locations=['zerovl.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['zerovl.engine'])
MODEL_WRAPPERS = Registry('model wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['zerovl.engine'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['zerovl.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['zerovl.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['zerovl.datasets'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['zerovl.datasets'])

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['zerovl.models'])

METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['zerovl.evaluation'])
EVALUATORS = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['zerovl.evaluation'])

# The children exist so the Runner resolves MMEngine's under our scope quietly; zerovl.engine adds the
# TensorBoard backend of configs/_base_/default_runtime.py.
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, locations=['zerovl.engine'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS)
