# Copyright (c) mmselfemd contributors. All rights reserved.
"""Run a transfer study: pretraining variants x seeds -> detection AP.

One command runs, for every variant of a study config and every seed:
pretraining (``tools/train.py``), backbone extraction
(``tools/model_converters/extract_backbone_weights.py``), the RoI probe
(:class:`mmselfemd.evaluation.RoIProbe`) and Faster R-CNN fine-tuning with
COCO AP (``tools/train.py`` on an mmdet config), with equal compute for
every variant (the study config's iterations, batch and fine-tuning
schedule are forced on every run). Finished runs are skipped, so the
command resumes where it stopped; an interrupted pretraining resumes from
its last checkpoint. Progress and an ETA are printed as it goes.

Outputs in ``--work-dir``: ``results.json`` (every run and the
aggregates), ``results.md`` (mean ± std over seeds of AP and AP50, the
probe, the transport-plan diagnostics, the comparisons the study asks for)
and ``results.png`` (bar chart with error bars).

Usage::

    python tools/analysis_tools/transfer_study.py STUDY_CONFIG \
        [--work-dir work_dirs/study] [--jobs 2] [--threads 1] \
        [--variants NAME ...] [--quick] [--report-only]

See ``configs/studies/README.md`` for the study config format.
"""
import argparse
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Dict, List, Optional, Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
DIAG_KEYS = ('emd_entropy_ratio', 'emd_matching_gain', 'emd_marginal_err')
# cfg-options a variant may not set: they would break equal compute
RESERVED = ('train_cfg', 'train_dataloader.batch_size', 'randomness')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='study config file')
    parser.add_argument('--work-dir', help='output folder (default: '
                        'work_dirs/<study config name>)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (default 1)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch/OpenMP threads per run (default: cores '
                        '/ jobs)')
    parser.add_argument('--variants', nargs='+',
                        help='run only these variants (default: all)')
    parser.add_argument('--quick', action='store_true',
                        help="the study config's quick settings: tiny data "
                        'and a few iterations (a smoke test; AP is '
                        'meaningless)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report from the finished runs, run '
                        'nothing')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the runs that would be run')
    parser.add_argument('--reprobe', action='store_true',
                        help='run the RoI probe again on every finished '
                        'pretraining (e.g. after the probe changed), update '
                        'the results and write the report; trains nothing')
    return parser.parse_args(argv)


# ---------------------------------------------------------------- study --
class Study:
    """A study config, checked, with quick settings applied."""

    def __init__(self, path: str, quick: bool = False,
                 only: Optional[List[str]] = None) -> None:
        from mmengine.config import Config
        if not osp.isfile(path):
            raise FileNotFoundError(f'study config "{path}" not found')
        cfg = Config.fromfile(path)
        for key in ('data', 'backbone', 'pretrain', 'finetune', 'probe',
                    'variants', 'seeds'):
            if key not in cfg:
                raise KeyError(f'study config "{path}" has no "{key}"')
        if quick:
            if 'quick' not in cfg:
                raise KeyError(f'study config "{path}" has no "quick" '
                               'settings for --quick')
            cfg.merge_from_dict(cfg.quick.to_dict())
        self.path = path
        self.cfg = cfg
        variants = [dict(v) for v in cfg.variants]
        names = [v['name'] for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f'study config "{path}": duplicate variant '
                             f'names in {names}')
        if quick and cfg.get('quick_variants'):
            only = list(cfg.quick_variants) if only is None else only
        if only:
            unknown = sorted(set(only) - set(names))
            if unknown:
                raise KeyError(f'unknown variants {unknown}; the study '
                               f'"{path}" has {names}')
            variants = [v for v in variants if v['name'] in only]
        for v in variants:
            for key in v.get('cfg_options', {}):
                if any(key == r or key.startswith(r + '.') for r in RESERVED):
                    raise ValueError(
                        f'variant "{v["name"]}" sets "{key}", which every '
                        'variant must share (equal compute); set it in the '
                        'study\'s "pretrain" section instead')
        self.variants = variants
        seeds = cfg.seeds
        self.finetune_seeds = list(seeds.finetune)
        self.pretrain_seeds = {
            v['name']: list(
                seeds.get('pretrain_extra', {}).get(v['name'], [])) or
            list(seeds.pretrain)
            for v in variants
        }

    def runs(self) -> List[Tuple[str, int, int]]:
        """(variant, pretrain seed, finetune seed) of every detection run,
        in the order they are scheduled: every variant's first pretraining
        seed before any variant's second, so that a partial study covers
        all variants."""
        seeds = {
            v['name']: [0] if v.get('pretrain') is None else
            self.pretrain_seeds[v['name']]
            for v in self.variants
        }
        out = []
        for rank in range(max(len(s) for s in seeds.values())):
            for v in self.variants:
                if rank < len(seeds[v['name']]):
                    ps = seeds[v['name']][rank]
                    out += [(v['name'], ps, fs) for fs in self.finetune_seeds]
        return out


# ---------------------------------------------------------------- tasks --
class Task:
    """One unit of work: a pretraining (+ extraction + probe) or a
    fine-tuning; done when its ``result.json`` exists."""

    def __init__(self, kind: str, name: str, work_dir: str,
                 deps: Tuple['Task', ...] = ()) -> None:
        self.kind = kind
        self.name = name
        self.work_dir = work_dir
        self.deps = deps
        self.progress = 0.0
        self.started: Optional[float] = None

    @property
    def result_file(self) -> str:
        return osp.join(self.work_dir, 'result.json')

    @property
    def done(self) -> bool:
        return osp.isfile(self.result_file)

    def result(self) -> dict:
        with open(self.result_file) as f:
            return json.load(f)

    def write_result(self, result: dict) -> None:
        tmp = self.result_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, self.result_file)


class StudyRunner:
    """Builds the tasks of a study, runs them, writes the report."""

    def __init__(self, study: Study, work_dir: str, jobs: int,
                 threads: int) -> None:
        self.study = study
        self.cfg = study.cfg
        self.work_dir = osp.abspath(work_dir)
        self.jobs = max(1, jobs)
        self.threads = max(1, threads)
        self.data_root = osp.join(self.work_dir, 'data') + '/'
        self.lock = threading.Lock()
        self.durations: Dict[str, List[float]] = {}
        self.tasks: List[Task] = []
        self.pretrain_tasks: Dict[Tuple[str, int], Task] = {}
        self._build_tasks()

    # -------------------------------------------------------- building --
    def _build_tasks(self) -> None:
        variants = {v['name']: v for v in self.study.variants}
        for name, ps, fs in self.study.runs():
            v = variants[name]
            key = (name, ps)
            if key not in self.pretrain_tasks:
                self.pretrain_tasks[key] = Task(
                    'pretrain', f'{name}/pretrain-s{ps}',
                    osp.join(self.work_dir, name, f'pretrain_s{ps}'))
                self.tasks.append(self.pretrain_tasks[key])
            self.tasks.append(
                Task('finetune', f'{name}/p{ps}-f{fs}',
                     osp.join(self.work_dir, name, f'finetune_p{ps}_f{fs}'),
                     deps=(self.pretrain_tasks[key], )))
            self.tasks[-1].meta = dict(variant=name, pseed=ps, fseed=fs)
            self.pretrain_tasks[key].meta = dict(variant=name, pseed=ps,
                                                 variant_cfg=v)

    # --------------------------------------------------------- helpers --
    def env(self) -> dict:
        t = str(self.threads)
        return dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=t,
                    MKL_NUM_THREADS=t, MMSELFEMD_DEMO_DATA=self.data_root,
                    MMSELFEMD_STUDY_DATA=self.data_root)

    def run_tool(self, task: Task, cmd: List[str], log_file: str) -> None:
        """Run a tool, follow its iterations, keep its log."""
        os.makedirs(osp.dirname(log_file), exist_ok=True)
        with open(log_file, 'a') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env(), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                log.write(line)
                log.flush()
                m = ITER_RE.search(line)
                if m:
                    task.progress = int(m.group(1)) / int(m.group(2))
            if proc.wait() != 0:
                raise RuntimeError(
                    f'{task.name}: command failed (exit {proc.returncode}):'
                    f' {" ".join(cmd)}; log: {log_file}')

    def prepare_data(self) -> None:
        """Generate the study's scenes once (deterministic)."""
        marker = osp.join(self.data_root, 'done.json')
        data = self.cfg.data.to_dict()
        if osp.isfile(marker):
            with open(marker) as f:
                if json.load(f) == data:
                    return
            raise RuntimeError(
                f'{self.data_root} holds data made with other settings than '
                'the study config\'s "data"; use another --work-dir')
        from mmselfemd.utils.demo_scenes import make_demo_scenes
        kwargs = dict(data)
        if kwargs.pop('type', 'demo_scenes') != 'demo_scenes':
            raise ValueError('study data type must be "demo_scenes"')
        print(f'[study] generating scenes in {self.data_root}', flush=True)
        make_demo_scenes(self.data_root, **kwargs)
        with open(marker, 'w') as f:
            json.dump(data, f)

    def probe(self):
        from mmselfemd.evaluation import RoIProbe
        p = self.cfg.probe.to_dict()
        for key in ('train_ann_file', 'train_img_prefix', 'val_ann_file',
                    'val_img_prefix'):
            p[key] = osp.join(self.data_root, p[key])
        return RoIProbe(**p)

    # ----------------------------------------------------------- tasks --
    def run_pretrain(self, task: Task) -> dict:
        v = task.meta['variant_cfg']
        ps = task.meta['pseed']
        pre = self.cfg.pretrain
        result = dict(variant=v['name'], pseed=ps)
        start = time.time()
        if v.get('pretrain') is None:  # random init
            backbone_file = None
            result['pretrain_seconds'] = 0.0
        else:
            variant_opts = dict(pre.get('cfg_options', {}))
            variant_opts.update(v.get('cfg_options', {}))
            opts = schedule_options(v['pretrain'], variant_opts,
                                    pre.iters) + [
                f'train_dataloader.batch_size={pre.batch_size}',
                f'randomness.seed={ps}',
                f'default_hooks.checkpoint.interval={pre.checkpoint_interval}',
                'default_hooks.checkpoint.max_keep_ckpts=1',
                f'default_hooks.logger.interval={pre.log_interval}',
            ] + [f'{k}={val}' for k, val in variant_opts.items()]
            cmd = [sys.executable, 'tools/train.py', v['pretrain'],
                   '--work-dir', task.work_dir, '--cfg-options', *opts]
            if osp.isfile(osp.join(task.work_dir, 'last_checkpoint')):
                cmd.insert(4, '--resume')
            self.run_tool(task, cmd, osp.join(task.work_dir, 'run.log'))
            with open(osp.join(task.work_dir, 'last_checkpoint')) as f:
                ckpt = f.read().strip()
            backbone_file = osp.join(task.work_dir, 'backbone.pth')
            self.run_tool(task, [
                sys.executable,
                'tools/model_converters/extract_backbone_weights.py', ckpt,
                backbone_file
            ], osp.join(task.work_dir, 'run.log'))
            os.remove(ckpt)  # keep the extracted backbone only
            result['pretrain_seconds'] = time.time() - start
            result.update(self.pretrain_diagnostics(task.work_dir))
        result['backbone'] = backbone_file
        result['probe'] = self.run_probe(v, ps, backbone_file)
        return result

    def pretrain_diagnostics(self, work_dir: str) -> dict:
        """Transport-plan diagnostics and the time per iteration, averaged
        over the last fifth of the logged iterations."""
        from mmselfemd.utils.scalars import load_scalars
        recs = [r for r in load_scalars(work_dir) if 'loss' in r]
        out = {}
        if not recs:
            return out
        tail = recs[-max(1, len(recs) // 5):]
        for key in DIAG_KEYS + ('loss', 'time'):
            vals = [r[key] for r in tail if key in r]
            if vals:
                out[f'final_{key}'] = float(np.mean(vals))
        out['curves'] = {
            key: [[r['iter'], r[key]] for r in recs if key in r]
            for key in DIAG_KEYS + ('loss', )
        }
        return out

    def run_probe(self, variant: dict, pseed: int,
                  backbone_file: Optional[str]) -> dict:
        import torch
        from mmpretrain.models import ResNet
        torch.set_num_threads(self.threads)
        from mmengine.logging import MMLogger
        torch.manual_seed(pseed)
        backbone = ResNet(**self.cfg.backbone, out_indices=(3, ))
        # quiet: init_weights logs every tensor to the current logger
        if not MMLogger.check_instance_created('transfer_study'):
            MMLogger.get_instance('transfer_study', log_level='WARNING')
        backbone.init_weights()
        if backbone_file is not None:
            state = torch.load(backbone_file, map_location='cpu',
                               weights_only=True)['state_dict']
            backbone.load_state_dict(state, strict=True)
        start = time.time()
        with self.lock:  # one probe at a time: it caches the images
            if not hasattr(self, '_probe'):
                self._probe = self.probe()
            scores = self._probe.evaluate(backbone)
        scores['seconds'] = time.time() - start
        return scores

    def run_finetune(self, task: Task) -> dict:
        from mmselfemd.utils.scalars import load_scalars
        meta = task.meta
        pre = task.deps[0].result()
        ft = self.cfg.finetune
        cfg = ft.scratch_config if pre['backbone'] is None else ft.config
        opts = schedule_options(cfg, ft.get('cfg_options', {}), ft.iters) + [
            f'train_cfg.val_interval={ft.iters}',
            f'randomness.seed={meta["fseed"]}',
            f'default_hooks.checkpoint.interval={ft.iters}',
            f'default_hooks.logger.interval={ft.log_interval}',
        ] + [f'{k}={val}' for k, val in ft.get('cfg_options', {}).items()]
        if pre['backbone'] is not None:
            opts.append(f'model.backbone.init_cfg.checkpoint='
                        f'{pre["backbone"]}')
        start = time.time()
        self.run_tool(task, [
            sys.executable, 'tools/train.py', cfg, '--work-dir',
            task.work_dir, '--cfg-options', *opts
        ], osp.join(task.work_dir, 'run.log'))
        metrics = None
        for rec in reversed(load_scalars(task.work_dir)):
            if 'coco/bbox_mAP' in rec:
                metrics = rec
                break
        if metrics is None:
            raise RuntimeError(f'{task.name}: no coco/bbox_mAP in '
                               f'{task.work_dir}')
        # the detector checkpoint is not needed for the study
        for f in os.listdir(task.work_dir):
            if f.endswith('.pth'):
                os.remove(osp.join(task.work_dir, f))
        return dict(
            meta,
            ap=100 * metrics['coco/bbox_mAP'],
            ap50=100 * metrics['coco/bbox_mAP_50'],
            ap75=100 * metrics['coco/bbox_mAP_75'],
            finetune_seconds=time.time() - start)

    def reprobe(self) -> None:
        """Probe every finished pretraining again and update its result."""
        variants = {v['name']: v for v in self.study.variants}
        for t in self.tasks:
            if t.kind != 'pretrain' or not t.done:
                continue
            result = t.result()
            result['probe'] = self.run_probe(variants[result['variant']],
                                             result['pseed'],
                                             result['backbone'])
            t.write_result(result)
            print(f'[study] probed {t.name}: balanced acc '
                  f'{100 * result["probe"]["bacc"]:.1f} %', flush=True)
        self.write_report()

    def execute(self, task: Task) -> None:
        task.started = time.time()
        os.makedirs(task.work_dir, exist_ok=True)
        fn = self.run_pretrain if task.kind == 'pretrain' else \
            self.run_finetune
        result = fn(task)
        task.write_result(result)
        with self.lock:
            self.durations.setdefault(task.kind, []).append(
                time.time() - task.started)

    # --------------------------------------------------------- running --
    def eta(self, pending: List[Task], running: List[Task]) -> float:
        guess = dict(
            pretrain=self.cfg.pretrain.get('seconds_guess', 600.0),
            finetune=self.cfg.finetune.get('seconds_guess', 600.0))
        mean = {
            k: (np.mean(self.durations[k]) if self.durations.get(k) else g)
            for k, g in guess.items()
        }
        left = sum(mean[t.kind] for t in pending)
        left += sum(mean[t.kind] * (1 - t.progress) for t in running)
        return left / self.jobs

    @staticmethod
    def fmt(seconds: float) -> str:
        seconds = int(max(0, seconds))
        return f'{seconds // 3600}h{seconds // 60 % 60:02d}m' \
            if seconds >= 3600 else f'{seconds // 60}m{seconds % 60:02d}s'

    def run(self) -> None:
        self.prepare_data()
        pending = [t for t in self.tasks if not t.done]
        total = len(self.tasks)
        skipped = total - len(pending)
        print(f'[study] {total} runs, {skipped} already done, '
              f'{len(pending)} to run, {self.jobs} at a time, '
              f'{self.threads} thread(s) each', flush=True)
        start = time.time()
        running: Dict = {}
        failed = []
        last_print = 0.0
        with ThreadPoolExecutor(self.jobs) as pool:
            while pending or running:
                ready = [t for t in pending
                         if all(d.done for d in t.deps)]
                blocked = [t for t in pending if any(
                    d in failed for d in t.deps)]
                for t in blocked:
                    pending.remove(t)
                    failed.append(t)
                for t in ready[:self.jobs - len(running)]:
                    pending.remove(t)
                    running[pool.submit(self.execute, t)] = t
                    print(f'[study] start {t.name}', flush=True)
                if not running:
                    break
                done, _ = wait(list(running), timeout=30,
                               return_when=FIRST_COMPLETED)
                for fut in done:
                    t = running.pop(fut)
                    exc = fut.exception()
                    if exc is not None:
                        failed.append(t)
                        print(f'[study] FAILED {t.name}: {exc}', flush=True)
                    else:
                        print(f'[study] done {t.name} in '
                              f'{self.fmt(time.time() - t.started)}',
                              flush=True)
                    self.write_report()
                if done or time.time() - last_print > 120:
                    last_print = time.time()
                    finished = sum(t.done for t in self.tasks)
                    now = ', '.join(f'{t.name} {t.progress:.0%}'
                                    for t in running.values())
                    print(f'[study] {finished}/{total} done, elapsed '
                          f'{self.fmt(time.time() - start)}, ETA '
                          f'{self.fmt(self.eta(pending, list(running.values())))}'  # noqa: E501
                          f' | running: {now or "-"}', flush=True)
        self.write_report()
        if failed:
            raise SystemExit(f'[study] {len(failed)} runs failed or were '
                             f'blocked: {[t.name for t in failed]}; fix the '
                             'cause and run the same command again (finished '
                             'runs are kept)')

    # ---------------------------------------------------------- report --
    def collect(self) -> dict:
        """Every finished run and the per-variant aggregates."""
        runs, pre = [], []
        for t in self.tasks:
            if t.done:
                (pre if t.kind == 'pretrain' else runs).append(t.result())
        variants = []
        for v in self.study.variants:
            name = v['name']
            rs = [r for r in runs if r['variant'] == name]
            ps = [p for p in pre if p['variant'] == name]
            agg = dict(name=name, description=v.get('description', ''),
                       n=len(rs),
                       expected=sum(1 for r in self.study.runs()
                                    if r[0] == name))
            for key in ('ap', 'ap50', 'ap75'):
                vals = [r[key] for r in rs]
                agg[key] = _mean_std(vals)
            # spread of the pretraining seeds: std of per-pseed means
            by_p = {}
            for r in rs:
                by_p.setdefault(r['pseed'], []).append(r['ap'])
            agg['ap_pseed_means'] = {
                str(k): float(np.mean(v)) for k, v in sorted(by_p.items())
            }
            agg['probe_bacc'] = _mean_std(
                [100 * p['probe']['bacc'] for p in ps])
            agg['node_cos'] = _mean_std([
                p['probe']['node_cos'] for p in ps
                if 'node_cos' in p['probe']
            ])
            for key in DIAG_KEYS + ('time', ):
                agg[key] = _mean_std(
                    [p[f'final_{key}'] for p in ps if f'final_{key}' in p])
            agg['pretrain_seconds'] = _mean_std(
                [p['pretrain_seconds'] for p in ps])
            variants.append(agg)
        return dict(study=self.study.path, runs=runs,
                    pretrain=[{k: v for k, v in p.items() if k != 'curves'}
                              for p in pre],
                    variants=variants,
                    comparisons=self.comparisons(variants),
                    probe_ap_spearman=_spearman(variants))

    def comparisons(self, variants: List[dict]) -> List[dict]:
        by_name = {v['name']: v for v in variants}
        out = []
        for a, b in self.cfg.get('compare', []):
            if a not in by_name or b not in by_name or \
                    by_name[a]['ap']['n'] < 2 or by_name[b]['ap']['n'] < 2:
                continue
            va, vb = by_name[a]['ap'], by_name[b]['ap']
            margin = va['mean'] - vb['mean']
            need = 2 * max(va['std'], vb['std'])
            out.append(dict(a=a, b=b, margin=margin, twice_max_std=need,
                            a_wins=bool(margin > need)))
        return out

    def write_report(self) -> None:
        with self.lock:
            data = self.collect()
        with open(osp.join(self.work_dir, 'results.json'), 'w') as f:
            json.dump(data, f, indent=1)
        with open(osp.join(self.work_dir, 'results.md'), 'w') as f:
            f.write(self.markdown(data))
        if any(v['ap']['n'] for v in data['variants']):
            self.plot(data, osp.join(self.work_dir, 'results.png'))
        curves = {
            f'{t.meta["variant"]} s{t.meta["pseed"]}':
            t.result().get('curves', {})
            for t in self.tasks if t.kind == 'pretrain' and t.done
        }
        if any(c.get(DIAG_KEYS[0]) for c in curves.values()):
            self.plot_diagnostics(curves,
                                  osp.join(self.work_dir, 'diagnostics.png'))

    def markdown(self, data: dict) -> str:
        pre, ft = self.cfg.pretrain, self.cfg.finetune
        lines = [
            f'Study `{self.study.path}`: pretraining {pre.iters} iterations '
            f'x batch {pre.batch_size} for every variant; fine-tuning '
            f'`{ft.config}` {ft.iters} iterations; seeds: pretraining '
            f'{list(self.cfg.seeds.pretrain)} (extra: '
            f'{dict(self.cfg.seeds.get("pretrain_extra", {}))}), '
            f'fine-tuning {self.study.finetune_seeds}. Mean ± sample std '
            'over all (pretraining seed, fine-tuning seed) runs.', '',
            '| variant | runs | bbox AP | AP50 | AP75 | AP per pretrain '
            'seed | probe bacc | C5 node cos | plan entropy ratio | '
            'matching gain | marginal err | s/iter | description |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
        ]
        for v in data['variants']:
            seeds = ', '.join(f'{k}: {m:.1f}'
                              for k, m in v['ap_pseed_means'].items())
            lines.append(
                f'| {v["name"]} | {v["n"]}/{v["expected"]} | '
                f'{_fmt(v["ap"])} | {_fmt(v["ap50"])} | {_fmt(v["ap75"])} | '
                f'{seeds or "-"} | {_fmt(v["probe_bacc"])} | '
                f'{_fmt(v["node_cos"], 3)} | '
                f'{_fmt(v["emd_entropy_ratio"], 3)} | '
                f'{_fmt(v["emd_matching_gain"], 4)} | '
                f'{_fmt(v["emd_marginal_err"], 4)} | '
                f'{_fmt(v["time"], 2)} | {v["description"]} |')
        if data['comparisons']:
            lines += ['', 'Comparisons (target: margin > 2 × the larger '
                      'std):', '']
            for c in data['comparisons']:
                verdict = 'yes' if c['a_wins'] else 'no'
                lines.append(
                    f'- {c["a"]} − {c["b"]}: {c["margin"]:+.2f} AP; 2 × '
                    f'larger std = {c["twice_max_std"]:.2f}; '
                    f'{c["a"]} wins by the target: **{verdict}**')
        rho = data['probe_ap_spearman']
        if rho is not None:
            lines += ['', f'Spearman rank correlation between probe bacc and '
                      f'bbox AP over the variants: {rho["rho"]:.2f} '
                      f'(n = {rho["n"]}, p = {rho["p"]:.3f}).']
        return '\n'.join(lines) + '\n'

    def plot(self, data: dict, out_file: str) -> None:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        vs = [v for v in data['variants'] if v['ap']['n']]
        names = [v['name'] for v in vs]
        x = np.arange(len(vs))
        baseline = 'byol'
        panels = [('bbox AP', 'ap'), ('AP50', 'ap50'),
                  ('probe balanced acc (%)', 'probe_bacc')]
        # one panel per row, so that many variants stay readable
        fig, axes = plt.subplots(3, 1, figsize=(max(6, 1.5 + 0.75 * len(vs)),
                                                10), dpi=110)
        for ax, (title, key) in zip(axes, panels):
            means = [v[key]['mean'] if v[key]['n'] else np.nan for v in vs]
            stds = [v[key]['std'] if v[key]['n'] > 1 else 0 for v in vs]
            ax.bar(x, means, yerr=stds, capsize=4, color='#4c72b0')
            for i, v in enumerate(vs):  # individual runs as dots
                if key in ('ap', 'ap50'):
                    pts = [r[key] for r in data['runs']
                           if r['variant'] == v['name']]
                    ax.plot([i] * len(pts), pts, 'k.', ms=4)
            if key in ('ap', 'ap50') and baseline in names:
                ref = vs[names.index(baseline)][key]['mean']
                ax.axhline(ref, ls='--', lw=1, color='#c44e52',
                           label=f'{baseline} mean')
                ax.legend(loc='lower right', fontsize=8)
            ax.set_xticks(x)
            ax.set_xticklabels(names, rotation=30, ha='right')
            ax.set_title(title)
            ax.grid(axis='y', alpha=0.3)
            finite = [m for m in means if m == m]
            if finite:
                lo = min(m - s for m, s in zip(means, stds) if m == m)
                hi = max(m + s for m, s in zip(means, stds) if m == m)
                pad = 0.1 * (hi - lo + 1e-6)
                ax.set_ylim(max(0, lo - 3 * pad), hi + pad)
        fig.suptitle('Transfer study: mean ± std over seeds (dots: runs)')
        fig.tight_layout()
        fig.savefig(out_file)
        plt.close(fig)


    @staticmethod
    def plot_diagnostics(curves: Dict[str, dict], out_file: str) -> None:
        """Transport-plan diagnostics over pretraining, one line per
        pretraining run (the losses are not comparable across variants:
        their terms differ)."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        keys = DIAG_KEYS[:2]
        titles = dict(emd_entropy_ratio='plan entropy / entropy of a bᵀ '
                      '(1 = no matching)',
                      emd_matching_gain='matching gain S_EMD − S_independent')
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
        cmap = plt.get_cmap('tab20')
        for i, (run, c) in enumerate(sorted(curves.items())):
            for ax, key in zip(axes, keys):
                pts = c.get(key) or []
                if pts:
                    ax.plot(*zip(*pts), label=run, color=cmap(i % 20),
                            lw=1.2)
        for ax, key in zip(axes, keys):
            ax.set_title(titles[key], fontsize=10)
            ax.set_xlabel('pretraining iteration')
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(out_file)
        plt.close(fig)


def schedule_options(config: str, options: Dict[str, object],
                     iters: int) -> List[str]:
    """cfg-options that run ``config`` for ``iters`` iterations.

    Sets ``train_cfg.max_iters`` and rescales every iteration-based
    parameter scheduler by ``iters / max_iters`` (``begin``, ``end`` and
    ``T_max``), so a shorter or longer run keeps the config's schedule
    shape (e.g. warm-up for the first 3 %, then cosine to the end).

    Args:
        config (str): Config file.
        options (dict): cfg-options applied before (a variant's).
        iters (int): The new number of iterations.

    Returns:
        list[str]: ``key=value`` strings for ``--cfg-options``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(options))
    old = cfg.train_cfg.get('max_iters')
    if old is None:
        raise ValueError(f'{config}: the study needs an iteration-based '
                         'train_cfg (train_cfg.max_iters)')
    opts = [f'train_cfg.max_iters={iters}']
    scheds = cfg.get('param_scheduler') or []
    if isinstance(scheds, dict):
        scheds = [scheds]
    for i, s in enumerate(scheds):
        if s.get('by_epoch', True):
            continue
        begin = round(s.get('begin', 0) * iters / old)
        end = max(begin + 1, round(s.get('end', old) * iters / old))
        opts += [f'param_scheduler.{i}.begin={begin}',
                 f'param_scheduler.{i}.end={end}']
        if 'T_max' in s:
            opts.append(f'param_scheduler.{i}.T_max={end - begin}')
    return opts


def _mean_std(vals: List[float]) -> dict:
    vals = [float(v) for v in vals]
    n = len(vals)
    return dict(
        mean=float(np.mean(vals)) if n else float('nan'),
        std=float(np.std(vals, ddof=1)) if n > 1 else float('nan'),
        n=n)


def _fmt(ms: dict, digits: int = 1) -> str:
    if not ms['n']:
        return '-'
    if ms['n'] == 1 or math.isnan(ms['std']):
        return f'{ms["mean"]:.{digits}f}'
    return f'{ms["mean"]:.{digits}f} ± {ms["std"]:.{digits}f}'


def _spearman(variants: List[dict]) -> Optional[dict]:
    pts = [(v['probe_bacc']['mean'], v['ap']['mean']) for v in variants
           if v['probe_bacc']['n'] and v['ap']['n']]
    if len(pts) < 3:
        return None
    from scipy.stats import spearmanr
    res = spearmanr([p[0] for p in pts], [p[1] for p in pts])
    if not np.isfinite(res.statistic):  # a constant column: no ranking
        return None
    return dict(rho=float(res.statistic), p=float(res.pvalue), n=len(pts))


def main(argv=None) -> None:
    args = parse_args(argv)
    study = Study(args.config, quick=args.quick, only=args.variants)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] +
        ('_quick' if args.quick else ''))
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    runner = StudyRunner(study, work_dir, args.jobs, threads)
    if args.dry_run:
        for t in runner.tasks:
            print(f'{"done" if t.done else "todo"} {t.kind:9s} {t.name}')
        return
    os.makedirs(runner.work_dir, exist_ok=True)
    if args.report_only:
        runner.write_report()
    elif args.reprobe:
        runner.reprobe()
    else:
        runner.run()
    print(f'[study] report: {osp.join(runner.work_dir, "results.md")}, '
          f'{osp.join(runner.work_dir, "results.png")}, '
          f'{osp.join(runner.work_dir, "results.json")}')


if __name__ == '__main__':
    main()
