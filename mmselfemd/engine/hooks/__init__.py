# Copyright (c) mmselfemd contributors. All rights reserved.
from .node_cosine_hook import NodeCosineHook
from .portable_checkpoint_hook import (
    PortableCheckpointHook,
    add_portable_checkpoint_hook,
)
from .pretrained_backbone_check_hook import (
                                             NO_CHECKPOINT,
                                             SAME_AS_BACKBONE,
                                             PretrainedBackboneCheckHook,
                                             PretrainedBackboneError,
                                             check_backbone_checkpoint,
                                             split_shared_head_keys,
)
from .roi_probe_hook import RoIProbeHook

__all__ = [
    'PretrainedBackboneCheckHook', 'RoIProbeHook', 'PretrainedBackboneError',
    'check_backbone_checkpoint', 'NO_CHECKPOINT', 'SAME_AS_BACKBONE',
    'split_shared_head_keys', 'PortableCheckpointHook',
    'add_portable_checkpoint_hook', 'NodeCosineHook'
]
