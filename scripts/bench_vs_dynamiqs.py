"""cqjax healed Diosi against dynamiqs' Euler-Maruyama diffusive SSE solver on the same qubit SSE.

Usage: python scripts/bench_vs_dynamiqs.py [--trajectories 100000] [--steps 1000] [--saves 10] [--dt 1e-3]
       [--repeats 3] [--venv /tmp/cqjax-bench-venv] [--quick]

The problem. The healed Diosi model (H = p^2/2m + (2 lam q + phi) sz, noise sigma on p; seed 004 C.2)
measures the qubit with K = 1/2 pinv(sigma) {p, H_I} = -(lam / sigma) sz driven by the same dW as p
(cqjax/dynamics/healed.py, cqjax/models/diosi.py):
    d|psi> = -i (2 lam q + phi) sz |psi> dt - (lam/sigma)(sz - <sz>)|psi> dW - (lam^2/2 sigma^2)(sz - <sz>)^2|psi> dt.
With m = 1e9 the position stays at q = 0 (|q| ~ 1e-9) and this is exactly the diffusive SSE of dynamiqs
with H = phi sz and one measured jump operator L = sqrt(gamma) sz, gamma = lam^2 / sigma^2 (dW -> -dW),
whose ensemble is the dephasing D[L]: E<sz>(t) = 0, E<sx>(t) = exp(-2 gamma t) cos(2 phi t) from |+>.
Both run float32 from |+> with the same dt, trajectories and saved times, and both reduce the saved
expectations of sz and sx to a mean and standard error over the trajectories:
- cqjax: ``run_ensemble`` (Kraus step, default chunking), ``run_seconds``, for each ``run.noise``; also
  the bench.py model (m = 1) with Gaussian noise as a control that m does not change the cost;
- dynamiqs: ``dq.dssesolve(H, [L], psi0, tsave, keys, exp_ops=[sz, sx], method=EulerMaruyama(dt),
  save_states=False)`` with the mean and standard error taken in the same jitted function, all
  trajectories in one batch (its own vmap), timed after a warm-up (compiling) call.
Timings are interleaved in one process pair (cqjax gaussian, dynamiqs, cqjax three-point, cqjax
rademacher, dynamiqs, cqjax gaussian m = 1; ``repeats`` rounds), and each case's best is kept (dynamiqs
runs twice per round). Reported: trajectory-steps per second (this host's) and the ratios cqjax /
dynamiqs, which are what to compare between hosts; and whether E<sz>(t), E<sx>(t) agree between the two
(and with the exact values) within the standard errors.

dynamiqs is not a dependency of cqjax: a scratch venv (``--venv``, created once with
``--system-site-packages`` so that it sees this environment's jax) gets ``pip install dynamiqs`` with
jax and jaxlib pinned to this environment's version, and the dynamiqs side runs in a subprocess with
that venv's python. If dynamiqs cannot be installed with this jax, the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

NOISES = ("gaussian", "three-point", "rademacher")
PHI, LAM, SIGMA = 2.0, 1.0, 1.0
GAMMA = LAM**2 / SIGMA**2
FROZEN_MASS = 1e9  # q stays at 0: the qubit sees H = phi sz exactly

WORKER = r"""
import json, sys, time
import numpy as np
import jax
import dynamiqs as dq

cfg = json.loads(sys.argv[1])
dq.set_precision("single")
try:
    dq.set_progress_meter(False)
except Exception:
    pass
n, steps, saves, dt = cfg["trajectories"], cfg["steps"], cfg["saves"], cfg["dt"]
sz, sx = dq.sigmaz(), dq.sigmax()
H = cfg["phi"] * sz
L = float(np.sqrt(cfg["gamma"])) * sz
psi0 = (dq.basis(2, 0) + dq.basis(2, 1)) / np.sqrt(2.0)
tsave = tuple(float(t) for t in np.arange(saves + 1) * (steps // saves) * dt)
keys = jax.random.split(jax.random.key(cfg["seed"]), n)


def make_solve(dt):
    method = dq.method.EulerMaruyama(dt=dt)

    @jax.jit
    def solve(keys):
        r = dq.dssesolve(H, [L], psi0, tsave, keys, exp_ops=[sz, sx], method=method, save_states=False)
        e = r.expects.real  # (n, 2, T)
        return e.mean(0), e.std(0, ddof=1) / np.sqrt(e.shape[0])

    return solve


def say(**kw):
    print("@@" + json.dumps(kw), flush=True)


solve = make_solve(dt)
t0 = time.perf_counter()
mean, sem = jax.block_until_ready(solve(keys))
say(ready=True, jax=jax.__version__, dynamiqs=dq.__version__, device=str(jax.devices()[0]),
    compile_s=time.perf_counter() - t0, mean=np.asarray(mean).tolist(), sem=np.asarray(sem).tolist(),
    dtype=str(mean.dtype))
for line in sys.stdin:
    cmd = line.split()
    if cmd[:1] == ["run"]:
        t0 = time.perf_counter()
        jax.block_until_ready(solve(keys))
        say(seconds=time.perf_counter() - t0)
    elif cmd[:1] == ["stats"]:  # statistics at another dt (compiles)
        mean, sem = jax.block_until_ready(make_solve(float(cmd[1]))(keys))
        say(mean=np.asarray(mean).tolist(), sem=np.asarray(sem).tolist())
    else:
        break
"""


def ensure_venv(venv: Path, jax_version: str) -> Path:
    """The venv's python with dynamiqs importable and jax == ``jax_version``; exits 2 if impossible."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating the scratch venv {venv} (--system-site-packages)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    probe = [str(python), "-c", "import jax, dynamiqs; print(jax.__version__, dynamiqs.__version__)"]
    got = subprocess.run(probe, capture_output=True, text=True)
    if got.returncode != 0:
        print(f"installing dynamiqs into {venv} with jax=={jax_version} pinned (once)", flush=True)
        pins = [f"jax=={jax_version}", f"jaxlib=={jax_version}"]
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "dynamiqs", *pins], capture_output=True, text=True
        )
        if pip.returncode != 0:
            tail = "\n".join((pip.stdout + pip.stderr).strip().splitlines()[-15:])
            sys.exit(
                f"FAILED: dynamiqs cannot be installed with this environment's jax=={jax_version} "
                f"(pip install dynamiqs {' '.join(pins)} in {venv}):\n{tail}"
            )
        got = subprocess.run(probe, capture_output=True, text=True)
        if got.returncode != 0:
            sys.exit(f"FAILED: dynamiqs installed into {venv} but does not import:\n{got.stderr.strip()[-2000:]}")
    venv_jax, dq_version = got.stdout.split()
    if venv_jax != jax_version:
        sys.exit(
            f"FAILED: the venv {venv} has jax {venv_jax}, this environment {jax_version}; "
            f"remove the venv (or give another --venv) to reinstall with jax=={jax_version} pinned"
        )
    print(f"dynamiqs {dq_version} in {venv}, jax {venv_jax} (same as cqjax's)", flush=True)
    return python


class Dynamiqs:
    """The dynamiqs worker: compiled and warm after construction; ``run()`` times one solve."""

    def __init__(self, python: Path, cfg: dict):
        self.proc = subprocess.Popen(
            [str(python), "-c", WORKER, json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.info = self._read()

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        sys.exit(f"FAILED: the dynamiqs worker stopped (exit status {self.proc.wait()}); see its messages above")

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def run(self) -> float:
        return self.ask("run")["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def sci(x: float) -> str:
    """x in short scientific notation: 2.53e7."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--saves", type=int, default=10)
    ap.add_argument("--dt", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--venv", type=Path, default=Path("/tmp/cqjax-bench-venv"))
    ap.add_argument("--quick", action="store_true", help="tiny sizes (2000 trajectories, 100 steps, 2 repeats)")
    args = ap.parse_args()
    if args.quick:
        args.trajectories, args.steps, args.repeats = 2000, 100, 2
    if args.steps % args.saves:
        ap.error("--saves must divide --steps")

    import jax
    import jax.numpy as jnp

    import cqjax

    python = ensure_venv(args.venv, jax.__version__)
    t1 = args.steps * args.dt
    init = cqjax.InitialState(z_mean=jnp.zeros(2), psi=jnp.array([1.0, 1.0]) / np.sqrt(2.0))
    frozen = cqjax.Diosi(m=FROZEN_MASS, lam=LAM, phi=PHI, sigma=SIGMA)
    bench_model = cqjax.Diosi(m=1.0, lam=LAM, phi=PHI, sigma=SIGMA)
    kw = dict(
        t1=t1,
        dt=args.dt,
        n_saves=args.saves,
        trajectories=args.trajectories,
        seed=args.seed,
        observables=("sz", "sx"),
        precision="float32",
    )
    print(
        f"{args.trajectories} trajectories x {args.steps} steps of dt = {args.dt}, {args.saves} saves, float32; "
        f"H = {PHI} sz, L = sqrt({GAMMA}) sz (cqjax: healed Diosi, lam = sigma = 1, phi = {PHI}, "
        f"m = {FROZEN_MASS:g}); device {jax.devices()[0]}",
        flush=True,
    )

    stats, timers = {}, {}
    for noise in NOISES:  # compile and warm up; the first run's statistics are kept
        r = cqjax.run_ensemble(frozen, init, **kw, noise=noise)
        stats[noise] = r
        timers[f"cqjax {noise}"] = lambda noise=noise: cqjax.run_ensemble(frozen, init, **kw, noise=noise).run_seconds
    cqjax.run_ensemble(bench_model, init, **kw)
    timers["cqjax gaussian, m = 1"] = lambda: cqjax.run_ensemble(bench_model, init, **kw).run_seconds
    worker = Dynamiqs(
        python,
        dict(
            trajectories=args.trajectories,
            steps=args.steps,
            saves=args.saves,
            dt=args.dt,
            phi=PHI,
            gamma=GAMMA,
            seed=args.seed,
        ),
    )
    print(
        f"dynamiqs worker: dynamiqs {worker.info['dynamiqs']}, jax {worker.info['jax']}, "
        f"{worker.info['device']}, expectations {worker.info['dtype']}, compile {worker.info['compile_s']:.1f} s",
        flush=True,
    )
    timers["dynamiqs"] = worker.run
    order = ["cqjax gaussian", "dynamiqs", "cqjax three-point", "cqjax rademacher", "dynamiqs", "cqjax gaussian, m = 1"]
    best = dict.fromkeys(timers, math.inf)
    counts = dict.fromkeys(timers, 0)
    t_start = time.perf_counter()
    for _ in range(args.repeats):
        for name in order:
            best[name] = min(best[name], timers[name]())
            counts[name] += 1
    wall = time.perf_counter() - t_start

    work = args.trajectories * args.steps
    base = best["dynamiqs"]
    print(
        f"\ntimings interleaved over {args.repeats} rounds ({wall:.0f} s); best of {counts['cqjax gaussian']} "
        f"per cqjax case, of {counts['dynamiqs']} for dynamiqs; compilation excluded\n"
    )
    print("| solver | noise | best s (this host) | trajectory-steps/s (this host) | ratio to dynamiqs |")
    print("|---|---|---:|---:|---:|")
    print(
        f"| dynamiqs {worker.info['dynamiqs']} `dssesolve`, Euler-Maruyama | Gaussian | {base:.3f} | "
        f"{sci(work / base)} | 1.00 |"
    )
    ratios = {}
    for name in ["cqjax gaussian", "cqjax three-point", "cqjax rademacher", "cqjax gaussian, m = 1"]:
        ratios[name] = base / best[name]
        noise = name.split()[1].rstrip(",")
        label = "cqjax healed Diosi, Kraus" + (" (m = 1, bench.py's model)" if "m = 1" in name else "")
        print(f"| {label} | {noise} | {best[name]:.3f} | {sci(work / best[name])} | {ratios[name]:.2f} |")

    # the same problem? E<sz>, E<sx> at every saved time: cqjax (each noise), dynamiqs, the exact values
    t = stats["gaussian"].t
    obs = ("sz", "sx")
    exact = (np.stack([np.zeros_like(t), np.exp(-2 * GAMMA * t) * np.cos(2 * PHI * t)]), np.zeros((2, len(t))))
    dq_dt = (np.asarray(worker.info["mean"]), np.asarray(worker.info["sem"]))  # (2, T) each
    half = worker.ask(f"stats {args.dt / 2}")
    worker.close()
    dq_half = (np.asarray(half["mean"]), np.asarray(half["sem"]))
    # Richardson extrapolation removes Euler-Maruyama's O(dt) weak bias (the two runs' noises taken as independent)
    dq_0 = (2 * dq_half[0] - dq_dt[0], np.hypot(2 * dq_half[1], dq_dt[1]))
    cq = {n: (np.stack([stats[n].mean[o] for o in obs]), np.stack([stats[n].sem[o] for o in obs])) for n in NOISES}
    k = len(obs) * (len(t) - 1)  # comparisons after t = 0
    threshold = NormalDist().inv_cdf(1 - 0.01 / (2 * k))

    def worst(a, b) -> tuple[float, float]:
        """(largest |z|, largest |difference|) between two (mean, se) pairs after t = 0."""
        diff = np.abs(a[0] - b[0])[:, 1:]
        se = np.maximum(np.hypot(a[1], b[1])[:, 1:], 1e-12)
        return float(np.max(diff / se)), float(np.max(diff))

    print("\nE<sx>(t) (mean +- standard error; exact exp(-2 gamma t) cos(2 phi t)):\n")
    print("| t | exact | dynamiqs | " + " | ".join(f"cqjax {n}" for n in NOISES) + " |")
    print("|---:|---:|---:|" + "---:|" * len(NOISES))
    for i, ti in enumerate(t):
        cells = [f"{cq[n][0][1, i]:+.4f} +- {cq[n][1][1, i]:.4f}" for n in NOISES]
        print(
            f"| {ti:.2f} | {exact[0][1, i]:+.4f} | {dq_dt[0][1, i]:+.4f} +- {dq_dt[1][1, i]:.4f} | "
            + " | ".join(cells)
            + " |"
        )
    print(
        f"\nagreement of E<sz>, E<sx> at the {len(t) - 1} saved times after 0: largest |z| (|difference| / "
        f"combined standard error; Bonferroni threshold {threshold:.2f} for {k} comparisons at alpha = 0.01) "
        f"and, in parentheses, the largest |difference|:\n"
    )
    print("| | vs exact | vs dynamiqs at dt | vs dynamiqs extrapolated to dt -> 0 |")
    print("|---|---:|---:|---:|")
    fmt = lambda zd: f"{zd[0]:.2f} ({sci(zd[1])})"
    rows = [
        (f"dynamiqs, dt = {args.dt:g}", dq_dt),
        (f"dynamiqs, dt = {args.dt / 2:g}", dq_half),
        ("dynamiqs extrapolated, 2 E(dt/2) - E(dt)", dq_0),
    ]
    for label, d in rows:
        print(f"| {label} | {fmt(worst(d, exact))} | | |")
    agree = True
    for n in NOISES:
        z_exact, z_dt, z_0 = worst(cq[n], exact), worst(cq[n], dq_dt), worst(cq[n], dq_0)
        agree &= z_0[0] < threshold and z_exact[0] < threshold
        print(f"| cqjax {n}, dt = {args.dt:g} | {fmt(z_exact)} | {fmt(z_dt)} | {fmt(z_0)} |")
    # dynamiqs' bias where its deviation from the exact values is most significant, at dt and at dt/2
    z_dt = np.abs(dq_dt[0] - exact[0])[:, 1:] / np.maximum(dq_dt[1][:, 1:], 1e-12)
    j, i = np.unravel_index(np.argmax(z_dt), z_dt.shape)
    d_dt, d_half = (float(d[0][j, i + 1] - exact[0][j, i + 1]) for d in (dq_dt, dq_half))
    print(
        f"\ndynamiqs minus exact where most significant (E<{obs[j]}> at t = {t[i + 1]:.2f}): {d_dt:+.2e} at dt, "
        f"{d_half:+.2e} at dt/2 (ratio {d_dt / d_half if d_half else float('inf'):.2f}; 2 for an O(dt) bias: "
        "Euler-Maruyama's weak order 1)"
    )
    print(
        "-> the same problem: every cqjax noise agrees with the exact values and with dynamiqs extrapolated to "
        "dt -> 0 within the standard errors"
        if agree
        else "-> they DISAGREE beyond the standard errors (after removing dynamiqs' O(dt) bias)"
    )

    fastest = max(NOISES, key=lambda n: ratios[f"cqjax {n}"])
    r_fast, r_gauss = ratios[f"cqjax {fastest}"], ratios["cqjax gaussian"]
    print(
        f"\nratios cqjax / dynamiqs (trajectory-steps/s): gaussian {r_gauss:.2f}, three-point "
        f"{ratios['cqjax three-point']:.2f}, rademacher {ratios['cqjax rademacher']:.2f}; "
        f"gaussian m = 1 {ratios['cqjax gaussian, m = 1']:.2f}"
    )
    print(
        f"goal (fastest noise >= 2x dynamiqs, Gaussian >= 1x): fastest ({fastest}) {r_fast:.2f}x "
        f"{'met' if r_fast >= 2 else 'NOT met'}; Gaussian {r_gauss:.2f}x {'met' if r_gauss >= 1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
