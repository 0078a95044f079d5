#!/usr/bin/env bash
# Builds the Python environment in which interop/check_qonnx.py runs qonnx (the library FINN
# is built on) over converted models, without any network access:
#   - numpy, onnx, onnxruntime and qonnx's small pure-Python deps from a pip index
#     (QLSTM_PIP_INDEX, default the machine's mirror file:///opt/pypi/simple);
#   - qonnx itself and toposort, od, sigtools, clize from source folders
#     (QLSTM_INTEROP_SRC, default ../shared/interop next to the repository), installed
#     without dependency resolution, as that folder's README says.
# The environment goes to QLSTM_QONNX_VENV (default interop/.venv, ignored by git).
# Rerunning is cheap: an existing environment that imports qonnx is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="${QLSTM_INTEROP_SRC:-$root/../shared/interop}"
venv="${QLSTM_QONNX_VENV:-$root/interop/.venv}"
index="${QLSTM_PIP_INDEX:-file:///opt/pypi/simple}"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import qonnx.core.modelwrapper, qonnx.util.cleanup' 2>/dev/null; then
  echo "interop: $venv already has qonnx"
  exit 0
fi
for p in toposort od sigtools clize qonnx; do
  if [ ! -d "$src/$p" ]; then
    echo "interop: $src/$p is missing; set QLSTM_INTEROP_SRC to the folder holding the qonnx, toposort, od, sigtools and clize sources" >&2
    exit 2
  fi
done

"$python" -m venv "$venv"
pip=("$venv/bin/pip" --disable-pip-version-check --quiet)
"${pip[@]}" install --index-url "$index" numpy onnx onnxruntime protobuf attrs docutils setuptools wheel setuptools_scm
# pip builds a source folder in place (build/, *.egg-info): build from a writable copy so
# the shared sources stay untouched.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for p in toposort od sigtools clize qonnx; do
  cp -R "$src/$p" "$work/$p"
  chmod -R u+w "$work/$p"
done
# The sigtools and clize snapshots leave out their tests, which their setup.py still list
# as packages.
for p in sigtools clize; do
  mkdir -p "$work/$p/$p/tests" && touch "$work/$p/$p/tests/__init__.py"
done
for p in toposort od sigtools clize qonnx; do
  # setuptools_scm needs a version and the snapshots carry no git metadata.
  SETUPTOOLS_SCM_PRETEND_VERSION=1.0.0 "${pip[@]}" install --no-deps --no-build-isolation "$work/$p"
done
"$venv/bin/python" -c 'import qonnx.core.modelwrapper, qonnx.util.cleanup, qonnx.transformation.qcdq_to_qonnx' 
echo "interop: qonnx installed in $venv"
