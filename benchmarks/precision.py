"""float32 against bf16-mixed, side by side: one group's benchmark run in both precisions at
once, under the same machine load, the same time budget and the same seeds; one JSON object.

    RNNKIT_DATA=../shared/data python benchmarks/precision.py sst2 --minutes 15 --parallel 6
    RNNKIT_DATA=../shared/data python benchmarks/precision.py multi30k --minutes 60
    RNNKIT_DATA=../shared/data python benchmarks/precision.py charlm --minutes 15
    RNNKIT_DATA=../shared/data python benchmarks/precision.py etth1      # --quick, no budget

Each (precision, seed) is one subprocess of the group's benchmark (``benchmarks/sst2.py``,
``multi30k.py``, ``charlm.py``, ``etth1.py --quick``) with ``--threads`` threads (1);
``--parallel N`` of them run at a time (default 2: one float32 and one bf16-mixed, so each
pair shares the machine's load), started in pairs of the same seed. Reported per precision:
each run's quality figure (SST-2 dev accuracy, Multi30k test BLEU with beam 5, bits per
character on Multi30k's English val, ETTh1 test MSE at H = 96 of both settings) and epochs,
their means, the precision training used (a CPU without native bfloat16 falls back to
float32, which shows here), and the ratio of the mean epochs (bf16 / float32). The target:
the ratio at least 1.5 with the figure no worse.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.train.device import cpu_has_bf16

HERE = Path(__file__).resolve().parent
PRECISIONS = ("32", "bf16-mixed")


@dataclass(frozen=True)
class Group:
    """How one group's benchmark is run and read."""

    script: str
    minutes: float | None  # the default budget (None: the benchmark's own stopping)
    figure: str  # what the quality figure is
    higher_is_better: bool

    def command(self, precision: str, seed: int, minutes: float | None, device: str,
                threads: int) -> list[str]:
        """The benchmark's command line for one run."""
        cmd = [sys.executable, str(HERE / self.script), "--precision", precision,
               "--threads", str(threads)]
        if self.script == "sst2.py":
            cmd += ["--seeds", str(seed), "--device", device]
            return cmd + ([] if minutes is None else ["--max-minutes", str(minutes)])
        if self.script == "etth1.py":
            cmd += ["--quick", "--seeds", str(seed), "--device", device]
            return cmd + ([] if minutes is None else ["--max-minutes", str(minutes)])
        if self.script == "charlm.py":
            cmd += ["--seed", str(seed)]
        return cmd + ["--device", device] + ([] if minutes is None else
                                             ["--minutes", str(minutes)])

    def read(self, out: dict[str, Any]) -> dict[str, Any]:
        """The figure, the epochs, the training seconds per epoch and the precision used,
        from the benchmark's JSON."""
        if self.script == "sst2.py":
            run = out["runs"][0]
            return {"figure": run["dev_accuracy"], "epochs": run["epochs_run"],
                    "precision_used": run["precision"],
                    "seconds_per_epoch": round(run["train_seconds"] / run["epochs_run"], 1)}
        if self.script == "multi30k.py":
            return {"figure": out["test"]["beam5"]["bleu"], "epochs": out["epochs_run"],
                    "precision_used": out["precision"],
                    "seconds_per_epoch": round(out["train_seconds"] / out["epochs_run"], 1)}
        if self.script == "charlm.py":
            t = out["training"]
            return {"figure": out["valid"]["bits_per_char"], "epochs": t["epochs_run"],
                    "precision_used": t["precision"],
                    "seconds_per_epoch": round(t["seconds"] / t["epochs_run"], 1)}
        rows = out["results"]  # etth1: the mean over the settings (M and S) at H = 96
        return {"figure": round(statistics.fmean(r["mse"] for r in rows), 4),
                "epochs": statistics.fmean(r["epochs_run"] for r in rows),
                "precision_used": sorted({r["precision"] for r in rows}),
                "seconds_per_epoch": round(sum(r["train_seconds"] for r in rows)
                                           / sum(r["epochs_run"] for r in rows), 1),
                "per_setting": {r["setting"]: {k: r[k] for k in (
                    "mse", "epochs_run", "best_epoch", "best_val_loss", "train_seconds")}
                                for r in rows}}


GROUPS = {
    "sst2": Group("sst2.py", 15.0, "dev accuracy (%)", True),
    "multi30k": Group("multi30k.py", 60.0, "test_2016 BLEU, beam 5", True),
    "charlm": Group("charlm.py", 15.0, "val bits per character", False),
    "etth1": Group("etth1.py", None, "test MSE at H=96, mean of M and S", False),
}


def run_one(group: Group, precision: str, seed: int, args: argparse.Namespace) -> dict:
    """Run one benchmark subprocess and read its JSON (or say how it failed)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
           "MKL_NUM_THREADS": str(args.threads)}
    start = time.perf_counter()
    done = subprocess.run(group.command(precision, seed, args.minutes, args.device,
                                        args.threads),
                          capture_output=True, text=True, env=env, check=False)
    wall = round(time.perf_counter() - start, 1)
    if done.returncode != 0:
        return {"seed": seed, "error": done.stderr.strip().splitlines()[-3:], "wall": wall}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seed": seed, **group.read(out), "wall_seconds": wall}


def summarise(runs: list[dict]) -> dict[str, Any]:
    """The means of the figure, the epochs and the training seconds per epoch (a finer view
    of the speed than whole epochs in a short budget) over the runs that finished."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return {"figure": None, "epochs": None}
    return {"figure": round(statistics.fmean(r["figure"] for r in good), 4),
            "epochs": round(statistics.fmean(r["epochs"] for r in good), 2),
            "seconds_per_epoch": round(statistics.fmean(r["seconds_per_epoch"]
                                                        for r in good), 1),
            "runs_finished": len(good)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(GROUPS))
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget per run (default: sst2 15, "
                             "multi30k 60, charlm 15; etth1 none)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="default: 0 1 2 for sst2, 0 for the others")
    parser.add_argument("--parallel", type=int, default=2,
                        help="subprocesses at a time (an even number keeps pairs together)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per subprocess")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = parser.parse_args()
    group = GROUPS[args.task]
    if args.minutes is None:
        args.minutes = group.minutes
    seeds = args.seeds or ([0, 1, 2] if args.task == "sst2" else [0])
    if args.task == "multi30k" and seeds != [0]:
        parser.error("multi30k.py trains with seed 0 only")
    if "RNNKIT_DATA" not in os.environ:
        sys.exit("set RNNKIT_DATA to the shared datasets folder")
    jobs = [(p, s) for s in seeds for p in PRECISIONS]  # pairs of one seed start together
    start = time.perf_counter()
    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        futures = {job: pool.submit(run_one, group, *job, args) for job in jobs}
        done = {job: f.result() for job, f in futures.items()}
    runs = {p: [done[(p, s)] for s in seeds] for p in PRECISIONS}
    summary = {p: summarise(runs[p]) for p in PRECISIONS}
    full, half = summary["32"], summary["bf16-mixed"]
    ratio = no_worse = None
    if full["epochs"] and half["epochs"] is not None:
        ratio = round(half["epochs"] / full["epochs"], 3)
        sign = 1 if group.higher_is_better else -1
        no_worse = sign * (half["figure"] - full["figure"]) >= 0
    print(json.dumps({
        "task": args.task, "figure": group.figure, "higher_is_better": group.higher_is_better,
        "budget_minutes": args.minutes, "seeds": seeds, "parallel": args.parallel,
        "threads": args.threads, "device": args.device, "runs": runs, "summary": summary,
        "epochs_ratio_bf16_over_32": ratio, "figure_no_worse_in_bf16": no_worse,
        "target_met": None if ratio is None else bool(ratio >= 1.5 and no_worse),
        "target": "bf16-mixed: >= 1.5x the epochs of float32 in the same budget, figure no "
                  "worse",
        "machine": {"cpus": os.cpu_count(), "native_bf16_cpu": cpu_has_bf16(),
                    "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "total_seconds": round(time.perf_counter() - start, 1),
    }))


if __name__ == "__main__":
    main()
