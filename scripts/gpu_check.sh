#!/usr/bin/env bash
# GPU check: the pipeline runs on CUDA (model.device=auto picks the GPU) and agrees with the CPU.
#
# Not part of `make test` (nothing in the project needs a GPU); run by hand on a CUDA machine:
#
#   bash scripts/gpu_check.sh            # results under $OUT (default: outputs/gpu_check)
#   PARTS=ac bash scripts/gpu_check.sh   # only some of the parts below
#
# On a machine without transformer-lens, hydra-core & co., put their wheels (py3.12, no deps) in
# .whl/ (git-ignored): they are installed to /tmp/site and put on PYTHONPATH (NO_WHEELS=1: don't).
# Where CUDA is absent every step still runs, on the CPU (a dry run of the script itself):
#   NO_WHEELS=1 PYTHON=.venv/bin/python OUT=/tmp/gpucheck_out bash scripts/gpu_check.sh
#
#   (a) experiment=smoke, and the device model.device=auto picks;
#   (c) scripts/gpu_compare.py: logits, greedy replies and directions, CUDA vs CPU;
#   (b) the reproduce experiment shrunk as in tests/conftest.py (SMALL_REPRODUCE), every stage,
#       seconds per stage from its manifest; its metrics.json and manifest.json copied to $OUT.
# (in that order: the longest part last, so that a time limit cuts only it.)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
PARTS=${PARTS:-abc}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

versions() {
  "$PY" - <<'PYEOF'
import importlib.metadata as md, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
for d in ("transformer-lens", "transformers", "huggingface-hub", "datasets", "pyarrow", "fsspec", "numpy",
          "hydra-core", "omegaconf", "typing-extensions"):
    try:
        print(f"  {d} {md.version(d)}")
    except md.PackageNotFoundError:
        print(f"  {d} MISSING")
import transformer_lens, circuits.run  # noqa: F401,E401  (fails here, not mid-run, if a dependency is missing)
PYEOF
}

stage_seconds() {
  "$PY" - "$1" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
total = 0.0
for name, s in m["stages"].items():
    total += s.get("seconds", 0.0)
    print(f"  {name:12s} {s.get('status'):8s} {s.get('seconds', '-')} s")
print(f"  {'all stages':12s} {'':8s} {total:.1f} s")
PYEOF
}

small_reproduce_overrides() {
  "$PY" - <<'PYEOF'
import ast, re
src = open("tests/conftest.py").read()
print(" ".join(ast.literal_eval(re.search(r"SMALL_REPRODUCE = (\[.*?\n\])", src, re.S).group(1))))
PYEOF
}

main() {
  if [ -z "${NO_WHEELS:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      || { echo "wheel install failed"; return 1; }
    export PYTHONPATH=/tmp/site:$PWD
  else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  fi
  versions || return 1
  local status=0 t0

  if [[ $PARTS == *a* ]]; then
    echo "== (a) smoke"
    t0=$SECONDS
    timeout 60 "$PY" -m circuits.run experiment=smoke out_dir="$OUT/smoke" || status=1
    echo "smoke: $((SECONDS - t0)) s with the imports"
    "$PY" -c "
import torch
from circuits.stages.context import RunContext
from circuits.run import compose
d = RunContext(compose(['experiment=smoke']), None).device
print('model.device=auto ->', d, '|', torch.cuda.get_device_name(0) if d.startswith('cuda') else 'no GPU')" || status=1
  fi

  if [[ $PARTS == *c* ]]; then
    echo "== (c) CUDA vs CPU"
    timeout 90 "$PY" scripts/gpu_compare.py --out "$OUT/compare.json" || status=1
  fi
  if [[ $PARTS == *b* ]]; then
    echo "== (b) small reproduce"
    local small
    small=$(small_reproduce_overrides) || return 1
    rm -rf /tmp/gpu_run
    t0=$SECONDS
    # shellcheck disable=SC2086
    timeout 240 "$PY" -m circuits.run $small out_dir=/tmp/gpu_run || status=1
    echo "small reproduce: $((SECONDS - t0)) s with the imports; seconds per stage:"
    stage_seconds /tmp/gpu_run/manifest.json
    cp /tmp/gpu_run/metrics.json "$OUT/reproduce_metrics.json"
    cp /tmp/gpu_run/manifest.json "$OUT/reproduce_manifest.json"
  fi

  echo "== gpu_check: $([ $status = 0 ] && echo PASSED || echo FAILED)"
  return $status
}

main 2>&1 | tee "$OUT/log.txt"
