# Copyright (c) mmselfemd contributors. All rights reserved.
"""Mixed precision on CPU (bfloat16) with mmengine's ``AmpOptimWrapper``."""
from typing import Union

import torch
from mmengine.device import (
    is_cuda_available,
    is_mlu_available,
    is_musa_available,
    is_npu_available,
)
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmselfemd.registry import OPTIM_WRAPPERS


def _accelerator_available() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` accepts this machine."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` that also trains on CPU, in bfloat16.

    mmengine 0.10.7's :class:`~mmengine.optim.AmpOptimWrapper` asserts that
    a CUDA/NPU/MLU/MUSA device is available, although ``torch.autocast``
    (and mmengine's :func:`~mmengine.runner.amp.autocast`) supports CPU
    with ``torch.bfloat16``. With an accelerator this class *is* mmengine's
    wrapper (same arguments, loss scaling, state dict). Without one it
    requires ``dtype='bfloat16'`` and uses a disabled ``GradScaler``:
    bfloat16 has float32's exponent range, so gradients neither underflow
    nor overflow and no loss scaling is needed. Backward, step, clipping,
    state dicts and the autocast context are mmengine's unchanged (a
    disabled scaler passes losses and steps through).

    Args:
        loss_scale (str | float | dict): As in ``AmpOptimWrapper``; on CPU
            only ``'dynamic'`` (the default) is accepted and it scales
            nothing. Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype. On CPU it must
            be ``'bfloat16'`` (None means bfloat16); with an accelerator,
            as in ``AmpOptimWrapper``. Defaults to None.
        use_fsdp (bool): As in ``AmpOptimWrapper``; not supported on CPU.
            Defaults to False.
        **kwargs: Keyword arguments of :class:`~mmengine.optim.OptimWrapper`.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        if _accelerator_available():
            super().__init__(
                loss_scale=loss_scale,
                dtype=dtype,
                use_fsdp=use_fsdp,
                **kwargs)
            return
        if dtype is None:
            dtype = torch.bfloat16
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None) if dtype in \
                self.valid_dtypes else None
        if dtype != torch.bfloat16:
            raise ValueError(
                'CPUAmpOptimWrapper: mixed precision on CPU supports only '
                f"dtype='bfloat16' (torch.autocast on CPU), got {dtype!r}. "
                'float16 needs a CUDA device.')
        if loss_scale != 'dynamic' or use_fsdp:
            raise ValueError(
                'CPUAmpOptimWrapper: bfloat16 on CPU needs no loss scaling '
                f'and no FSDP; got loss_scale={loss_scale!r}, '
                f'use_fsdp={use_fsdp!r}. Leave both at their defaults.')
        # AmpOptimWrapper.__init__ would assert an accelerator: initialise
        # the plain wrapper and set the attributes AmpOptimWrapper's methods
        # use. A disabled scaler returns losses unscaled, steps the
        # optimizer directly and has an empty state dict.
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = dtype
