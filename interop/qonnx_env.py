"""Imports qonnx with the one fix the mirror's onnx/onnxruntime pair needs.

qonnx executes each node as a one-node model made by qonnx_make_model, which stamps
onnx.IR_VERSION (14 in onnx 1.23); onnxruntime 1.30 loads at most IR 13, so every
execute_onnx and FoldConstants would fail whatever the model. The one-node models get the
IR version of the model under test instead (set_ir_version), which onnxruntime accepts
since it accepted the model itself.
"""
import warnings

import onnx
import qonnx.core.onnx_exec as _onnx_exec
import qonnx.util.basic as _basic

_ir_version = [onnx.IR_VERSION]
_make_model = _basic.qonnx_make_model


def _qonnx_make_model(graph, **kwargs):
    kwargs.setdefault("ir_version", _ir_version[0])
    return _make_model(graph, **kwargs)


_basic.qonnx_make_model = _qonnx_make_model
_onnx_exec.qonnx_make_model = _qonnx_make_model


def set_ir_version(version: int) -> None:
    _ir_version[0] = version


def quiet() -> None:
    """qonnx warns on every shape disagreement it tolerates; the checks report outcomes."""
    warnings.simplefilter("ignore")
