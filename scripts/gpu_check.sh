#!/usr/bin/env bash
# One prepared check for a GPU machine (one H200; no network; jax with CUDA installed): the devices,
# the scale-out and engine tests (if pytest is there), then scripts/bench_gpu.py's table for
# BENCHMARKS.md. Finishes in under 8 minutes (pytest at most 150 s, the benchmark at most 280 s).
#
# Usage, from the repository root:  bash scripts/gpu_check.sh [--quick]
#   --quick: a CPU dry run: no pytest, tiny benchmark sizes (a couple of minutes on 2 CPU cores).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
start=$(date +%s)

echo "== devices"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total --format=csv
else
    echo "nvidia-smi: not found"
fi
python -c "import jax; print(jax.__version__, jax.devices())" || echo "FAILED: jax does not import"

echo "== tests"
if [ -n "$quick" ]; then
    echo "skipped (--quick)"
elif python -c "import pytest" >/dev/null 2>&1; then
    timeout 150 python -m pytest -q -x -p no:cacheprovider tests/test_scale_out.py tests/test_engine.py \
        -m "not slow" 2>&1 | tail -n 25
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "pytest: TIMED OUT after 150 s"
    echo "pytest exit status: $rc"
else
    echo "skipped: pytest is not installed"
fi

echo "== benchmark (scripts/bench_gpu.py $quick)"
timeout 280 python scripts/bench_gpu.py $quick
rc=$?
[ "$rc" = 124 ] && echo "bench_gpu.py: TIMED OUT after 280 s (the rows above are complete)"
echo "bench_gpu.py exit status: $rc"
echo "== gpu_check.sh done in $(( $(date +%s) - start )) s"
