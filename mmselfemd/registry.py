# Copyright (c) mmselfemd contributors. All rights reserved.
"""mmselfemd's registry nodes, one for each registry in ``__all__``.

Each node is a child of mmpretrain's registry of the same name
(``FUNCTIONS``: of mmengine's, as mmpretrain has none), so every mmpretrain
(and, through it, mmengine) module builds under
``default_scope='mmselfemd'`` without a prefix, and ``mmdet.`` /
``mmpretrain.`` prefixes or ``_scope_`` switch to those projects.

More details can be found at
https://mmengine.readthedocs.io/en/latest/advanced_tutorials/registry.html.
"""
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import Registry
from mmpretrain.registry import BATCH_AUGMENTS as MMPRETRAIN_BATCH_AUGMENTS
from mmpretrain.registry import DATA_SAMPLERS as MMPRETRAIN_DATA_SAMPLERS
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from mmpretrain.registry import EVALUATORS as MMPRETRAIN_EVALUATORS
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from mmpretrain.registry import LOG_PROCESSORS as MMPRETRAIN_LOG_PROCESSORS
from mmpretrain.registry import LOOPS as MMPRETRAIN_LOOPS
from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
from mmpretrain.registry import MODEL_WRAPPERS as MMPRETRAIN_MODEL_WRAPPERS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmpretrain.registry import OPTIM_WRAPPERS as MMPRETRAIN_OPTIM_WRAPPERS
from mmpretrain.registry import OPTIMIZERS as MMPRETRAIN_OPTIMIZERS
from mmpretrain.registry import PARAM_SCHEDULERS as MMPRETRAIN_PARAM_SCHEDULERS
from mmpretrain.registry import (
    RUNNER_CONSTRUCTORS as MMPRETRAIN_RUNNER_CONSTRUCTORS,
)
from mmpretrain.registry import RUNNERS as MMPRETRAIN_RUNNERS
from mmpretrain.registry import TASK_UTILS as MMPRETRAIN_TASK_UTILS
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmpretrain.registry import VISBACKENDS as MMPRETRAIN_VISBACKENDS
from mmpretrain.registry import VISUALIZERS as MMPRETRAIN_VISUALIZERS
from mmpretrain.registry import (
    WEIGHT_INITIALIZERS as MMPRETRAIN_WEIGHT_INITIALIZERS,
)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
    'FUNCTIONS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'BATCH_AUGMENTS', 'TASK_UTILS', 'METRICS', 'EVALUATORS', 'VISUALIZERS',
    'VISBACKENDS'
]

#######################################################################
#                            mmselfemd.engine                         #
#######################################################################

RUNNERS = Registry(
    'runner',
    parent=MMPRETRAIN_RUNNERS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMPRETRAIN_RUNNER_CONSTRUCTORS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
LOOPS = Registry(
    'loop',
    parent=MMPRETRAIN_LOOPS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
HOOKS = Registry(
    'hook',
    parent=MMPRETRAIN_HOOKS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
LOG_PROCESSORS = Registry(
    'log processor',
    parent=MMPRETRAIN_LOG_PROCESSORS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMPRETRAIN_OPTIMIZERS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
OPTIM_WRAPPERS = Registry(
    'optimizer_wrapper',
    parent=MMPRETRAIN_OPTIM_WRAPPERS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMPRETRAIN_PARAM_SCHEDULERS,
    scope='mmselfemd',
    locations=['mmselfemd.engine'])

#######################################################################
#                           mmselfemd.datasets                        #
#######################################################################

DATASETS = Registry(
    'dataset',
    parent=MMPRETRAIN_DATASETS,
    scope='mmselfemd',
    locations=['mmselfemd.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMPRETRAIN_DATA_SAMPLERS,
    scope='mmselfemd',
    locations=['mmselfemd.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMPRETRAIN_TRANSFORMS,
    scope='mmselfemd',
    locations=['mmselfemd.datasets'])
# Functions such as dataloader worker init functions. mmpretrain has no
# FUNCTIONS node, so the parent is mmengine's root; mmengine's
# ``Runner.build_dataloader`` looks functions up in that root, where
# ``mmselfemd.NAME`` finds them in this child.
FUNCTIONS = Registry(
    'function',
    parent=MMENGINE_FUNCTIONS,
    scope='mmselfemd',
    locations=['mmselfemd.datasets'])

#######################################################################
#                            mmselfemd.models                         #
#######################################################################

MODELS = Registry(
    'model',
    parent=MMPRETRAIN_MODELS,
    scope='mmselfemd',
    locations=['mmselfemd.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMPRETRAIN_MODEL_WRAPPERS,
    scope='mmselfemd',
    locations=['mmselfemd.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMPRETRAIN_WEIGHT_INITIALIZERS,
    scope='mmselfemd',
    locations=['mmselfemd.models'])
BATCH_AUGMENTS = Registry(
    'batch augment',
    parent=MMPRETRAIN_BATCH_AUGMENTS,
    scope='mmselfemd',
    locations=['mmselfemd.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMPRETRAIN_TASK_UTILS,
    scope='mmselfemd',
    locations=['mmselfemd.models'])

#######################################################################
#                          mmselfemd.evaluation                       #
#######################################################################

METRICS = Registry(
    'metric',
    parent=MMPRETRAIN_METRICS,
    scope='mmselfemd',
    locations=['mmselfemd.evaluation'])
EVALUATORS = Registry(
    'evaluator',
    parent=MMPRETRAIN_EVALUATORS,
    scope='mmselfemd',
    locations=['mmselfemd.evaluation'])

#######################################################################
#                        mmselfemd.visualization                      #
#######################################################################

VISUALIZERS = Registry(
    'visualizer',
    parent=MMPRETRAIN_VISUALIZERS,
    scope='mmselfemd',
    locations=['mmselfemd.visualization'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMPRETRAIN_VISBACKENDS,
    scope='mmselfemd',
    locations=['mmselfemd.visualization'])
