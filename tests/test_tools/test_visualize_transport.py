# Copyright (c) mmselfemd contributors. All rights reserved.
"""tools/analysis_tools/visualize_transport.py on a real checkpoint."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from .conftest import load_tool


@pytest.mark.slow  # tiny_selfemd_run trains
def test_plan_of_a_trained_checkpoint(tiny_selfemd_run, scenes_root,
                                      tmp_path):
    from mmselfemd.registry import MODELS
    from mmselfemd.utils import register_all_modules
    from mmselfemd.visualization import compute_transport_plan
    image = f'{scenes_root}/train/train_00000.jpg'
    out = str(tmp_path / 'plan.png')
    tool = load_tool('analysis_tools/visualize_transport.py')
    assert tool.main([
        tiny_selfemd_run['config'], tiny_selfemd_run['checkpoint'], image,
        '--out-file', out
    ]) == out
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # the plan itself: a transport plan between the 2x2 C5 node maps of
    # the tiny config's 64 px views
    register_all_modules()
    model = MODELS.build(Config.fromfile(tiny_selfemd_run['config']).model)
    model.load_state_dict(
        torch.load(tiny_selfemd_run['checkpoint'],
                   weights_only=True)['state_dict'])
    model.eval()
    rng = np.random.default_rng(0)
    views = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
             for _ in range(2)]
    plan, shape_a, shape_b, sim = compute_transport_plan(model, *views)
    assert shape_a == shape_b == (2, 2)
    assert plan.shape == (4, 4) and (plan >= 0).all()
    assert plan.sum() == pytest.approx(1.0, abs=1e-4)
    assert -1.0 <= sim <= 1.0
    # it is the plan the head trains with, whatever the solver options
    # (an independent build of the same pair: weights, cost, Sinkhorn)
    from mmselfemd.models.utils import emd_similarity
    inputs = [torch.from_numpy(v[..., ::-1].copy()).permute(2, 0, 1)[None]
              for v in views]
    a_in, b_in = model.data_preprocessor(
        dict(inputs=inputs, data_samples=None))['inputs']
    with torch.no_grad():
        x = model.head.predict(model.neck(model.backbone(a_in))[0])
        t = model.target_net.module
        y = t[1](t[0](b_in))[0]
    for options in ({}, dict(eps_mode='relative'),
                    dict(eps_mode='absolute', eps=0.05)):
        for k, v in options.items():
            setattr(model.head, k, v)
        plan, _, _, sim = compute_transport_plan(model, *views)
        ref = emd_similarity(
            x.flatten(2).transpose(1, 2), y.flatten(2).transpose(1, 2),
            weights=model.head.weights, eps=model.head.eps,
            num_iters=model.head.num_iters, eps_mode=model.head.eps_mode,
            return_plan=True)
        np.testing.assert_allclose(plan, ref.plan[0].numpy(), atol=1e-6)
        assert sim == pytest.approx(float(ref.similarity[0]), abs=1e-6)
