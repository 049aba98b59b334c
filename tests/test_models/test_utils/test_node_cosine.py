# Copyright (c) mmselfemd contributors. All rights reserved.
"""node_cosine (spatial collapse) and NodeCosineHook, which logs it."""
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmselfemd.engine.hooks import NodeCosineHook
from mmselfemd.models.utils import node_cosine


def test_node_cosine_extremes_and_pairs():
    const = torch.ones(5, 3, 3)  # every location the same vector
    assert node_cosine(const).item() == pytest.approx(1.0)
    onehot = torch.eye(9).view(9, 3, 3)  # orthogonal locations
    assert node_cosine(onehot).item() == pytest.approx(0.0, abs=1e-6)
    assert node_cosine(torch.randn(4, 1, 1)).item() == 1.0
    # the batched form equals the mean over the distinct pairs, per map
    g = torch.Generator().manual_seed(0)
    maps = torch.randn(3, 8, 4, 5, generator=g)
    for i in range(3):
        nodes = nn.functional.normalize(maps[i].flatten(1).t(), dim=1)
        gram = nodes @ nodes.t()
        naive = (gram.sum() - gram.trace()) / (20 * 19)
        assert node_cosine(maps)[i].item() == pytest.approx(naive.item(),
                                                            abs=1e-5)
    with pytest.raises(ValueError, match='expects'):
        node_cosine(torch.zeros(3, 3))


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 1)
        self.other = nn.Conv2d(3, 4, 1)  # e.g. a target network


class _Runner:

    def __init__(self, model):
        self.model = model
        self.message_hub = MessageHub.get_instance('test_node_cosine_hook')


def test_hook_logs_the_online_backbone_during_training_steps():
    torch.manual_seed(0)
    model = _Model()
    runner = _Runner(model)
    hook = NodeCosineHook()
    hook.before_train(runner)
    x = torch.randn(2, 3, 5, 5)
    model.backbone(x)  # outside a training step: not recorded
    hook.before_train_iter(runner, 0)
    out = (model.backbone(x), model.backbone(x.flip(-1)))
    model.other(torch.ones(2, 3, 5, 5))  # another module: not read
    hook.after_train_iter(runner, 0)
    expected = torch.cat([node_cosine(o) for o in out]).mean().item()
    logged = runner.message_hub.get_scalar('train/node_cos').current()
    assert logged == pytest.approx(expected)
    # a tuple output (mmpretrain's ResNet) is read at its last map
    hook.after_train(runner)
    assert hook._handle is None
    model.backbone(x)  # removed: nothing more is recorded
    assert hook._values == []


def test_hook_names_a_missing_backbone():
    runner = _Runner(nn.Linear(2, 2))
    with pytest.raises(AttributeError, match='backbone_attr'):
        NodeCosineHook().before_train(runner)
