# Copyright (c) mmselfemd contributors. All rights reserved.
"""The markdown summary of the GPU check's report (``gpu_check.md``)."""
from typing import List


def _fmt(value, spec='.3f', none='-') -> str:
    if value is None:
        return none
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return format(value, spec)


def _table(header: List[str], rows: List[List[str]]) -> List[str]:
    """Markdown table lines; columns after the first two right-aligned."""
    align = ['---' if i < 2 else '---:' for i in range(len(header))]
    return [f"| {' | '.join(cells)} |" for cells in [header, align] + rows]


def render_markdown(report: dict) -> str:
    """The summary of ``gpu_check.json`` as markdown.

    Args:
        report (dict): The report (JSON-safe: :func:`clean_report`).

    Returns:
        str: The markdown, ending with a newline.
    """
    env = report['sections'].get('env', {}).get('result', {})
    tiny = ' (tiny rehearsal)' if report['tiny'] else ''
    lines = [
        '# GPU check of mmselfemd', '',
        f"- date: {report['started']} to {report.get('finished', '-')} "
        f"({_fmt(report.get('elapsed_s'), '.0f')} s, budget "
        f"{report['budget_s']:.0f} s)",
        f"- command: `{report['command']}`",
        f"- device: {report['device']}{tiny}",
        f"- machine: {env.get('gpu', 'no GPU')}; "
        f"{env.get('nvidia_smi', '')}; CPUs {env.get('cpu_affinity')}; "
        f"python {env.get('python')}, torch {env.get('torch')} (CUDA "
        f"{env.get('torch_cuda')}, cuDNN {env.get('cudnn')})",
        f"- made unimportable (pretraining must not need them): "
        f"{', '.join(env.get('blocked') or []) or 'none'}; mmcv has "
        f"compiled ops: {_fmt(env.get('mmcv_has_compiled_ops'))}"
    ]
    lines += [f'- note: {n}' for n in env.get('notes') or []]
    lines.append('')
    lines += _table(['section', 'status', 'time (s)', 'message'], [[
        name, sec['status'], _fmt(sec.get('elapsed_s'), '.1f'),
        (sec.get('error') or '').replace('|', '/').replace('\n', ' ')[:300]
    ] for name, sec in report['sections'].items()])
    met = {True: 'yes', False: '**no**', None: 'not judged'}
    lines += ['', '## Targets', '']
    lines += _table(['target', 'value', 'met'], [
        [t['text'], _fmt(t['value'], '.4g'), met[t['met']]]
        for t in report.get('targets', {}).values()])
    res = {name: sec.get('result') for name, sec in
           report['sections'].items()}
    sec = res.get('emd')
    if sec:
        lines += ['', f"## EMD solver (B = {sec['batch']}, C = "
                  f"{sec['channels']}, forward + backward; {sec['timing']})",
                  '']
        lines += _table(
            ['N', 'method', 'time (ms)', 'ratio to POT exact',
             'error vs exact'],
            [[str(r['nodes']), r['method'], _fmt(r['time_ms'], '.2f'),
              _fmt(r['ratio_to_pot_exact'], '.3f'),
              _fmt(r['error_pct'], '.2f') + ' %'] for r in sec['rows']])
    sec = res.get('step')
    if sec:
        lines += ['', f"## Training step ({sec['setting']})", '']
        lines += _table(
            ['precision', 'channels_last', 'Self-EMD (ms)', 'BYOL (ms)',
             'ratio', 'paired ratio', 'Self-EMD pairs/s', 'BYOL pairs/s',
             'Self-EMD peak / step (MiB)', 'BYOL peak / step (MiB)'],
            [[r['precision'], _fmt(r['channels_last']),
              _fmt(r['selfemd_step_s'] * 1e3, '.1f'),
              _fmt(r['byol_step_s'] * 1e3, '.1f'), _fmt(r['ratio']),
              _fmt(r['paired_ratio']), _fmt(r['selfemd_pairs_per_s'], '.0f'),
              _fmt(r['byol_pairs_per_s'], '.0f'),
              f"{_fmt(r['selfemd_peak_mb'], '.0f')} / "
              f"{_fmt(r['selfemd_step_mb'], '.0f')}",
              f"{_fmt(r['byol_peak_mb'], '.0f')} / "
              f"{_fmt(r['byol_step_mb'], '.0f')}"] for r in sec['rows']])
        lines.append('\nPeak: `torch.cuda.max_memory_allocated` during the '
                     'step, both models resident; step: the part above what '
                     'was allocated before it (activations, gradients).')
        r = sec.get('recipe')
        if r:
            lines.append(
                f"\nSelf-EMD SPC recipe ({r['setting']}): "
                f"{r['selfemd_step_s'] * 1e3:.1f} ms, "
                f"{r['selfemd_pairs_per_s']:.0f} pairs/s, peak "
                f"{_fmt(r['selfemd_peak_mb'], '.0f')} MiB.")
    sec = res.get('head_share')
    if sec:
        lines += ['', f"## EMD head share ({sec['setting']})", '',
                  f"Step {sec['step_s'] * 1e3:.2f} ms; head (predictor + "
                  f"EMD) {sec['head_s'] * 1e3:.2f} ms = "
                  f"{sec['head_share'] * 100:.2f} %; EMD alone "
                  f"{sec['emd_s'] * 1e3:.2f} ms = "
                  f"{sec['emd_share'] * 100:.2f} % ({sec['head']})."]
    sec = res.get('amp')
    if sec:
        lines += ['', f"## AMP safety ({sec['precision']}, "
                  f"{sec['setting']}, loss scaling {sec['loss_scaling']})",
                  '']
        lines += _table(
            ['batches', 'steps', 'non-finite losses',
             'overflow steps (after warm-up)', 'loss first -> last',
             'loss scales'],
            [[name, str(r['steps']), str(r['nonfinite_loss_steps']),
              f"{r['overflow_steps']} ({r['overflow_steps_after_warmup']})",
              f"{_fmt(r['first_loss'], '.4f')} -> "
              f"{_fmt(r['last_loss'], '.4f')}",
              ', '.join(f'{v:g}' for v in r['scales'][:6]) or '-']
             for name, r in sec['phases'].items()])
        lines.append(f"\nParameters finite at the end: "
                     f"{_fmt(sec['total']['params_finite'])}. "
                     f"{sec['note']}.")
    sec = res.get('dist')
    if sec:
        full = sec['runs']['full']
        first, last = sec['compared_iters'][0], sec['compared_iters'][-1]
        lines += ['', f"## Distributed smoke ({sec['launcher']}, "
                  f"{sec['backend']}, {sec['norm']}, {sec['amp']})", '',
                  f"{sec['config']}, {sec['iters']} iterations "
                  f"({_fmt(full['wall_s'], '.1f')} s, "
                  f"{_fmt(full['iter_time_s'], '.3f')} s/iteration), "
                  f"resumed from iteration {first - 1}: losses of "
                  f"iterations {first}-{last} max abs difference "
                  f"{sec['max_abs_diff']:.3g}, max relative "
                  f"{sec['max_rel_diff']:.3g} (tolerance "
                  f"{sec['rel_tolerance']:g}); equal bit for bit: "
                  f"{_fmt(sec['resume_losses_equal'])}. {sec['note']}."]
    sec = res.get('data')
    if sec:
        feed = ''
        if 'can_feed' in sec:
            feed = (f" Step rate to feed ({sec['compared_with']}): "
                    f"{sec['step_pairs_per_s'][sec['compared_with']]:.0f} "
                    f"pairs/s -> can feed: {_fmt(sec['can_feed'])} "
                    f"({sec['feed_margin']:.2f}x).")
        lines += ['', f"## Data pipeline ({sec['pipeline']})", '',
                  f"{sec['workers']} workers ({sec['cores']} cores), batch "
                  f"{sec['batch']}, {sec['num_images']} images "
                  f"({sec['image_size']}): {sec['pairs_per_s']:.0f} pairs/s "
                  f"({sec['pairs_per_s_per_worker']:.1f} per worker) over "
                  f"{sec['batches']} batches in {sec['seconds']:.1f} s."
                  + feed]
    return '\n'.join(lines) + '\n'
