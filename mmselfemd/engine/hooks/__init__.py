# Copyright (c) mmselfemd contributors. All rights reserved.
from mmselfemd.models.utils import PretrainedBackboneError

from .c4_shared_head_check import SAME_AS_BACKBONE
from .node_cosine_hook import NodeCosineHook
from .portable_checkpoint_hook import (
    PortableCheckpointHook,
    add_portable_checkpoint_hook,
)
from .pretrained_backbone_check_hook import (
    NO_CHECKPOINT,
    PretrainedBackboneCheckHook,
)
from .roi_probe_hook import RoIProbeHook

__all__ = [
    'PretrainedBackboneCheckHook', 'RoIProbeHook', 'PretrainedBackboneError',
    'NO_CHECKPOINT', 'SAME_AS_BACKBONE', 'PortableCheckpointHook',
    'add_portable_checkpoint_hook', 'NodeCosineHook'
]
