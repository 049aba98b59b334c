# Copyright (c) mmselfemd contributors. All rights reserved.
"""Run the tasks of a transfer study: resumable, in parallel, with ETA."""
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from .config import StudyConfig
from .schedule_options import schedule_options
from .task import StudyTask

ITER_RE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
#: scalars of a pretraining log that the study keeps (last fifth and curve)
DIAG_KEYS = ('emd_entropy_ratio', 'emd_matching_gain', 'emd_marginal_err',
             'emd_exact_matching_gain', 'emd_gain_ratio', 'node_cos')


def fmt_duration(seconds: float) -> str:
    """``1h02m`` or ``3m07s``."""
    seconds = int(max(0, seconds))
    return f'{seconds // 3600}h{seconds // 60 % 60:02d}m' \
        if seconds >= 3600 else f'{seconds // 60}m{seconds % 60:02d}s'


class StudyRunner:
    """Builds the tasks of a study, runs them, keeps the selection.

    Every run goes through the repository's own command lines
    (``tools/train.py``, ``tools/model_converters/
    extract_backbone_weights.py``) in a subprocess, so a run of the study is
    a run a user could make by hand; its command and output are in the
    task's ``run.log``. Finished tasks are skipped (the command resumes);
    an interrupted pretraining resumes from its last checkpoint. A
    selection group whose decision ``selection.json`` already records is
    not decided again, and its members' runs are not needed: the deciding
    runs can go on in a work dir that holds only the decision (e.g. one
    restored from a committed copy after the selection runs' folder was
    lost).

    Args:
        study (StudyConfig): The study.
        work_dir (str): Output folder.
        jobs (int): Tasks at a time.
        threads (int): torch/OpenMP threads per task.
        root (str): Repository root (the tools' working directory).
        on_update (callable, optional): Called after every finished task
            (the report is rewritten there). Defaults to None.
    """

    def __init__(self, study: StudyConfig, work_dir: str, jobs: int,
                 threads: int, root: str, on_update=None) -> None:
        self.study = study
        self.cfg = study.cfg
        self.work_dir = osp.abspath(work_dir)
        self.jobs = max(1, jobs)
        self.threads = max(1, threads)
        self.root = root
        self.on_update = on_update
        self.data_root = osp.join(self.work_dir, 'data') + '/'
        self.lock = threading.Lock()
        self.durations: Dict[str, List[float]] = {}
        self.tasks: List[StudyTask] = []
        self.pretrain_tasks: Dict[Tuple[str, int], StudyTask] = {}
        self._build_tasks()

    # -------------------------------------------------------- building --
    def _build_tasks(self) -> None:
        finetunes: Dict[str, List[StudyTask]] = {}
        decided = self.load_selection()
        for name, ps, fs in self.study.runs():
            v = self.study.variant(name)
            key = (name, ps)
            if key not in self.pretrain_tasks:
                deps = ()
                if v.get('select') and v['select'] not in decided:
                    # after every member is scored
                    deps = tuple(
                        t for m in self.study.groups[v['select']]
                        for t in finetunes.get(m, []))
                task = StudyTask(
                    'pretrain', f'{name}/pretrain-s{ps}',
                    osp.join(self.work_dir, name, f'pretrain_s{ps}'),
                    deps=deps, meta=dict(variant=name, pseed=ps))
                self.pretrain_tasks[key] = task
                self.tasks.append(task)
            task = StudyTask(
                'finetune', f'{name}/p{ps}-f{fs}',
                osp.join(self.work_dir, name, f'finetune_p{ps}_f{fs}'),
                deps=(self.pretrain_tasks[key], ),
                meta=dict(variant=name, pseed=ps, fseed=fs))
            finetunes.setdefault(name, []).append(task)
            self.tasks.append(task)
        for v in self.study.variants:
            if v.get('select') and v['select'] not in decided and any(
                    not finetunes.get(m)
                    for m in self.study.groups[v['select']]):
                raise ValueError(
                    f'variant "{v["name"]}" selects from group '
                    f'"{v["select"]}", whose members '
                    f'{self.study.groups[v["select"]]} are not all in this '
                    f'run of the study, and {self.selection_file} does not '
                    'record its decision')

    # ------------------------------------------------------- selection --
    @property
    def selection_file(self) -> str:
        return osp.join(self.work_dir, 'selection.json')

    def load_selection(self) -> dict:
        return self.read_selection(self.work_dir)

    @staticmethod
    def decided_without_runs(config: str, work_dir: str) -> List[str]:
        """Selection groups that ``selection.json`` in ``work_dir`` records
        as decided and none of whose members has a folder there: a record
        restored without the selection runs, whose members must not run
        again (pass them as ``StudyConfig(decided=...)``). A group whose
        runs are there keeps its members, so the report lists them."""
        from mmengine.config import Config
        groups = (Config.fromfile(config).get('selection')
                  or {}).get('groups', {})
        return [
            g for g in StudyRunner.read_selection(work_dir)
            if not any(
                osp.isdir(osp.join(work_dir, m)) for m in groups.get(g, []))
        ]

    @staticmethod
    def read_selection(work_dir: str) -> dict:
        """The decisions recorded in ``work_dir/selection.json`` ({} when
        there is none)."""
        path = osp.join(work_dir, 'selection.json')
        if not osp.isfile(path):
            return {}
        with open(path) as f:
            return json.load(f)

    def select(self, group: str) -> dict:
        """The winner of a selection group, decided once and kept.

        Rule: the member with the highest mean AP over its runs (on the
        split its runs are scored on, the validation split); a tie goes to
        the member listed first. Written to ``selection.json`` the first
        time, then read from there, so the decision never changes.
        """
        with self.lock:
            chosen = self.load_selection()
            if group in chosen:
                return chosen[group]
            scores = {}
            for member in self.study.groups[group]:
                aps = [t.result()['ap'] for t in self.tasks
                       if t.kind == 'finetune' and t.done
                       and t.meta['variant'] == member]
                if not aps:
                    raise RuntimeError(f'selection group "{group}": '
                                       f'"{member}" has no finished run')
                scores[member] = float(np.mean(aps))
            winner = max(scores, key=lambda m: (scores[m], -list(
                scores).index(m)))
            chosen[group] = dict(
                winner=winner, scores=scores,
                rule='highest mean AP of the members on their split; a '
                'tie goes to the member listed first',
                decided=time.strftime('%Y-%m-%d %H:%M:%S'))
            tmp = self.selection_file + '.tmp'
            with open(tmp, 'w') as f:
                json.dump(chosen, f, indent=1)
            os.replace(tmp, self.selection_file)
            return chosen[group]

    def resolve(self, name: str) -> dict:
        """A variant with its selection applied (``selected`` names the
        member whose settings it took)."""
        v = dict(self.study.variant(name))
        if not v.get('select'):
            return v
        winner = self.study.definition(self.select(v['select'])['winner'])
        opts = dict(winner.get('cfg_options', {}))
        opts.update(v.get('cfg_options', {}))
        return dict(v, pretrain=winner['pretrain'], cfg_options=opts,
                    selected=winner['name'])

    # --------------------------------------------------------- helpers --
    def env(self) -> dict:
        t = str(self.threads)
        return dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=t,
                    MKL_NUM_THREADS=t, MMSELFEMD_DEMO_DATA=self.data_root,
                    MMSELFEMD_STUDY_DATA=self.data_root)

    def run_tool(self, task: StudyTask, cmd: List[str],
                 log_file: str) -> None:
        """Run a tool, follow its iterations, keep its log."""
        os.makedirs(osp.dirname(log_file), exist_ok=True)
        with open(log_file, 'a') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.Popen(
                cmd, cwd=self.root, env=self.env(), stdout=subprocess.PIPE,
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
        from projects.demo.demo_scenes import make_demo_scenes
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
    def run_pretrain(self, task: StudyTask) -> dict:
        v = self.resolve(task.meta['variant'])
        ps = task.meta['pseed']
        result = dict(variant=v['name'], pseed=ps)
        if v.get('selected'):
            result['selected'] = v['selected']
        start = time.time()
        if v.get('pretrain') is None:  # random init
            backbone_file = None
            result['pretrain_seconds'] = 0.0
        else:
            opts = self.pretrain_options(v, ps)
            self.run_tool(task, self.pretrain_command(v['pretrain'],
                                                      task.work_dir, opts),
                          osp.join(task.work_dir, 'run.log'))
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
        if self.cfg.probe is not None:
            result['probe'] = self.run_probe(ps, backbone_file)
        return result

    def pretrain_options(self, variant: dict, pseed: int) -> List[str]:
        """``--cfg-options`` of a variant's pretraining: the study's
        schedule, batch, seed and logging, then the ``cfg_options`` of the
        study's ``pretrain`` section and of the variant (``variant`` as
        :meth:`resolve` returns it)."""
        pre = self.cfg.pretrain
        variant_opts = dict(pre.get('cfg_options', {}))
        variant_opts.update(variant.get('cfg_options', {}))
        return schedule_options(
            osp.join(self.root, variant['pretrain']), variant_opts,
            pre.iters) + [
                f'train_dataloader.batch_size={pre.batch_size}',
                f'randomness.seed={pseed}',
                'default_hooks.checkpoint.interval='
                f'{pre.checkpoint_interval}',
                'default_hooks.checkpoint.max_keep_ckpts=1',
                f'default_hooks.logger.interval={pre.log_interval}',
            ] + [f'{k}={val}' for k, val in variant_opts.items()]

    @staticmethod
    def pretrain_command(config: str, work_dir: str,
                         opts: List[str]) -> List[str]:
        """``tools/train.py`` for a pretraining; with ``--resume`` when an
        earlier, interrupted run left a checkpoint in ``work_dir``."""
        cmd = [sys.executable, 'tools/train.py', config, '--work-dir',
               work_dir]
        if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
            cmd.append('--resume')
        return cmd + ['--cfg-options', *opts]

    @staticmethod
    def pretrain_diagnostics(work_dir: str) -> dict:
        """Diagnostics and the time per iteration, averaged over the last
        fifth of the logged iterations, and their curves. A run that was
        interrupted and resumed has a log folder per start: their records
        are merged by iteration (the later start wins)."""
        from mmselfemd.utils.scalars import load_scalars
        by_iter = {}
        for d in sorted(os.listdir(work_dir)):
            path = osp.join(work_dir, d, 'vis_data', 'scalars.json')
            if osp.isfile(path):
                for r in load_scalars(path):
                    if 'loss' in r:
                        by_iter[r['iter']] = r
        recs = [by_iter[k] for k in sorted(by_iter)]
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

    def run_probe(self, pseed: int, backbone_file: Optional[str]) -> dict:
        import torch
        from mmengine.logging import MMLogger
        from mmpretrain.models import ResNet
        torch.set_num_threads(self.threads)
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

    def split_options(self, split: str) -> List[str]:
        """cfg-options that score the detector on a held-out split (none
        for a study without ``splits``: the config's own val split)."""
        if 'splits' not in self.cfg:
            return []
        s = self.study.splits[split]
        return [
            f'val_dataloader.dataset.ann_file={s["ann_file"]}',
            f'val_dataloader.dataset.data_prefix.img={s["img_prefix"]}',
            f'val_evaluator.ann_file={self.data_root}{s["ann_file"]}',
        ]

    def run_finetune(self, task: StudyTask) -> dict:
        from mmselfemd.utils.scalars import load_scalars
        meta = task.meta
        pre = task.deps[0].result()
        variant = self.study.variant(meta['variant'])
        ft = self.cfg.finetune
        cfg = ft.scratch_config if pre['backbone'] is None else ft.config
        seed = self.study.finetune_random_seed(variant, meta['pseed'],
                                               meta['fseed'])
        opts = schedule_options(
            osp.join(self.root, cfg), ft.get('cfg_options', {}),
            ft.iters) + [
                f'train_cfg.val_interval={ft.iters}',
                f'randomness.seed={seed}',
                f'default_hooks.checkpoint.interval={ft.iters}',
                f'default_hooks.logger.interval={ft.log_interval}',
            ] + [f'{k}={val}' for k, val in ft.get('cfg_options',
                                                     {}).items()]
        opts += self.split_options(variant['split'])
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
            split=variant['split'],
            ap=100 * metrics['coco/bbox_mAP'],
            ap50=100 * metrics['coco/bbox_mAP_50'],
            ap75=100 * metrics['coco/bbox_mAP_75'],
            finetune_seconds=time.time() - start)

    def reprobe(self) -> None:
        """Probe every finished pretraining again and update its result."""
        if self.cfg.probe is None:
            raise ValueError(f'{self.study.path} has no probe (probe=None)')
        for t in self.tasks:
            if t.kind != 'pretrain' or not t.done:
                continue
            result = t.result()
            result['probe'] = self.run_probe(result['pseed'],
                                             result['backbone'])
            t.write_result(result)
            print(f'[study] probed {t.name}: balanced acc '
                  f'{100 * result["probe"]["bacc"]:.1f} %', flush=True)

    def execute(self, task: StudyTask) -> None:
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
    def eta(self, pending: List[StudyTask],
            running: List[StudyTask]) -> float:
        """Seconds left: the mean duration of each kind so far (the
        config's ``seconds_guess`` before the first), over the jobs."""
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

    def seed_major(self, tasks: Iterable[StudyTask]) -> List[StudyTask]:
        """Tasks in the order they start: the pretrained variants' runs
        before random init's (its comparisons are secondary), then by
        pretraining seed, then in the study's order. A seed's runs of every
        arm come before the next seed's, so a study cut short leaves whole
        paired seeds (not all of one arm's seeds and none of the other's)
        to analyse."""

        def key(t: StudyTask) -> tuple:
            scratch = self.study.variant(t.meta['variant']).get(
                'pretrain') is None
            return scratch, t.meta.get('pseed', 0), self.tasks.index(t)

        return sorted(tasks, key=key)

    def run(self) -> List[StudyTask]:
        """Run every task that is not done; returns the failed ones."""
        self.prepare_data()
        pending = [t for t in self.tasks if not t.done]
        total = len(self.tasks)
        skipped = total - len(pending)
        print(f'[study] {total} runs, {skipped} already done, '
              f'{len(pending)} to run, {self.jobs} at a time, '
              f'{self.threads} thread(s) each', flush=True)
        start = time.time()
        running: Dict = {}
        failed: List[StudyTask] = []
        last_print = 0.0
        with ThreadPoolExecutor(self.jobs) as pool:
            while pending or running:
                blocked = [t for t in pending if any(
                    d in failed for d in t.deps)]
                for t in blocked:
                    pending.remove(t)
                    failed.append(t)
                ready = self.seed_major(
                    t for t in pending if all(d.done for d in t.deps))
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
                              f'{fmt_duration(time.time() - t.started)}',
                              flush=True)
                    if self.on_update is not None:
                        self.on_update()
                if done or time.time() - last_print > 120:
                    last_print = time.time()
                    finished = sum(t.done for t in self.tasks)
                    now = ', '.join(f'{t.name} {t.progress:.0%}'
                                    for t in running.values())
                    eta = self.eta(pending, list(running.values()))
                    print(f'[study] {finished}/{total} done, elapsed '
                          f'{fmt_duration(time.time() - start)}, ETA '
                          f'{fmt_duration(eta)} | running: {now or "-"}',
                          flush=True)
        return failed
