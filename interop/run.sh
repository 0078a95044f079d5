#!/usr/bin/env bash
# npm run interop: builds the qonnx environment if needed (interop/setup.sh, offline) and
# checks every converted corpus model in qonnx (interop/check_qonnx.py, arguments passed on).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/interop/setup.sh"
venv="${QLSTM_QONNX_VENV:-$root/interop/.venv}"
exec "$venv/bin/python" "$root/interop/check_qonnx.py" "$@"
