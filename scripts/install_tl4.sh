#!/usr/bin/env bash
# A second virtual environment, .venv-tl4, with the newest TransformerLens 4.x: what `make test-tl4`
# runs the bridge backend's tests in, so that the day circuits lifts its `transformer-lens<4` pin is
# known to be safe. circuits is installed exactly as `make install` does (scripts/install.sh), then
# TransformerLens is upgraded past the pin (pip warns about the pin; that is the point).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TL4_SPEC=${TL4_SPEC:-transformer-lens>=4,<5}
ENV_DIR=$(pwd)/.venv-tl4
if [ ! -x "$ENV_DIR/bin/python" ]; then
  echo "creating the virtual environment in $ENV_DIR"
  "$PYTHON" -m venv "$ENV_DIR"
fi
VIRTUAL_ENV=$ENV_DIR scripts/install.sh
echo "installing $TL4_SPEC"
echo "(pip reports that circuits pins transformer-lens<4: expected here)"
"$ENV_DIR/bin/python" -m pip install --disable-pip-version-check -q --upgrade "$TL4_SPEC" 2>&1 \
  | grep -v "dependency resolver\|requires transformer-lens<4\|^WARNING: Location" || true
"$ENV_DIR/bin/python" -c "import transformer_lens.model_bridge, circuits; from importlib.metadata import version; print('TransformerLens', version('transformer-lens'), 'in', '$ENV_DIR')"
touch "$ENV_DIR/.circuits-tl4-installed"
