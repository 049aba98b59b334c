# Copyright (c) mmselfemd contributors. All rights reserved.
from .node_cosine_hook import NodeCosineHook
from .portable_checkpoint_hook import (
    PortableCheckpointHook,
    add_portable_checkpoint_hook,
)
from .pretrained_backbone_check_hook import (
                                             NO_CHECKPOINT,
                                             PretrainedBackboneCheckHook,
                                             PretrainedBackboneError,
                                             check_backbone_checkpoint,
)
from .roi_probe_hook import RoIProbeHook

__all__ = [
    'PretrainedBackboneCheckHook', 'RoIProbeHook', 'PretrainedBackboneError',
    'check_backbone_checkpoint', 'NO_CHECKPOINT', 'PortableCheckpointHook',
    'add_portable_checkpoint_hook', 'NodeCosineHook'
]
