"""Runs a CPU peer once per thread count, so that it is compared at its fastest setting.

Each count runs in a child process (the calling script again, with `--worker --threads N --json
FILE`) whose OpenMP, OpenBLAS and MKL pools are sized by the environment before torch or NumPy
loads; the children's JSON results are returned in order of thread count."""
import json
import os
import subprocess
import sys
import tempfile


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def thread_counts(spec):
    """`all` (or None): 1 .. the available cores; otherwise one count or a comma-separated list."""
    if spec in (None, "", "all"):
        return list(range(1, available_cores() + 1))
    counts = [int(v) for v in str(spec).split(",") if v]
    if not counts or min(counts) < 1:
        raise SystemExit(f"--threads {spec}: expected all, N or N,M,...")
    return counts


def run_each_count(script, spec):
    """Runs `script` with this process's arguments once per count of `spec` and returns the results."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in thread_counts(spec):
            print(f"== PyTorch on the CPU, {t} thread{'s' if t > 1 else ''}", flush=True)
            out = os.path.join(tmp, f"threads{t}.json")
            env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
            # The last occurrence of an option wins, so these override the caller's.
            cmd = [sys.executable, os.path.abspath(script), *sys.argv[1:], "--worker", "--threads", str(t), "--json", out]
            subprocess.run(cmd, env=env, check=True)
            with open(out) as f:
                runs.append(json.load(f))
    return runs
