# Copyright (c) mmselfemd contributors. All rights reserved.
from .backbone_checkpoint import (
    PretrainedBackboneError,
    check_backbone_checkpoint,
)
from .classifier_head import classifier_head_keys
from .cost import (
    cosine_cost,
    cosine_similarity_matrix,
    relative_cost,
    std_cost,
)
from .emd_options import EMD_DEFAULTS, EMDDefaults, check_emd_options
from .emd_similarity import EMDResult, emd_similarity
from .exact_emd import exact_transport_plan
from .ignore_keys import IgnoreKeys
from .node_cosine import node_cosine
from .node_weights import cross_reference_weights, uniform_weights
from .resnet_layout import describe_resnet_layout
from .sinkhorn import eps_schedule, sinkhorn
from .split_resnet import split_shared_head_keys
from .state_dict_diff import StateDictDiff, diff_state_dicts, select_prefix
from .transport_diagnostics import exact_entropy_cap, transport_diagnostics

__all__ = [
    'EMD_DEFAULTS', 'EMDDefaults', 'EMDResult', 'check_emd_options',
    'cosine_cost', 'cosine_similarity_matrix',
    'cross_reference_weights', 'emd_similarity', 'eps_schedule',
    'exact_entropy_cap',
    'exact_transport_plan', 'node_cosine', 'relative_cost', 'sinkhorn',
    'std_cost', 'transport_diagnostics', 'uniform_weights',
    'PretrainedBackboneError', 'check_backbone_checkpoint',
    'classifier_head_keys', 'IgnoreKeys', 'describe_resnet_layout',
    'split_shared_head_keys', 'StateDictDiff', 'diff_state_dicts',
    'select_prefix'
]
