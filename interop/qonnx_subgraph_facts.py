"""Pins how qonnx treats Scan subgraphs, on 4-step Scan models built in memory.

Each line states a fact from docs/notes/interop-findings.md and whether it still holds with
the installed qonnx; exits 1 when one does not (qonnx changed: reread the findings).
Run: interop/.venv/bin/python interop/qonnx_subgraph_facts.py
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import qonnx_env

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.qcdq_to_qonnx import QCDQToQuant
from qonnx.util.cleanup import cleanup_model

qonnx_env.quiet()
qonnx_env.set_ir_version(8)
W = (np.arange(6, dtype=np.float32).reshape(2, 3) / 7).astype(np.float32)
X = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 1, 2)


def scan_model(body_reads_outer: bool, qdq: bool = False, batch="1", typed_outputs=True):
    """s' = s + Q(x_t W); W an outer initializer read by the body, or a body initializer."""
    body_init = [] if body_reads_outer else [numpy_helper.from_array(W, "Wb")]
    nodes = [helper.make_node("MatMul", ["x_t", "W" if body_reads_outer else "Wb"], ["y"])]
    out = "y"
    if qdq:
        body_init += [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(0, np.int8), "z")]
        nodes += [helper.make_node("QuantizeLinear", ["y", "s", "z"], ["yq"]), helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["yd"])]
        out = "yd"
    nodes += [helper.make_node("Add", ["s_in", out], ["s_out"]), helper.make_node("Identity", ["s_out"], ["y_t"])]
    body = helper.make_graph(
        nodes,
        "body",
        [helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [None, 3]), helper.make_tensor_value_info("x_t", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [None, 3]), helper.make_tensor_value_info("y_t", TensorProto.FLOAT, [None, 3])]
        if typed_outputs
        else [onnx.ValueInfoProto(name="s_out"), onnx.ValueInfoProto(name="y_t")],
        body_init,
    )
    b = 1 if batch == "1" else "batch"
    outer_nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "three"], ["state_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["state_shape"], ["s0"]),
        helper.make_node("Scan", ["s0", "x"], ["sN", "ys"], body=body, num_scan_inputs=1),
    ]
    inits = [numpy_helper.from_array(np.array([1], np.int64), "one"), numpy_helper.from_array(np.array([3], np.int64), "three")]
    if body_reads_outer:
        inits.append(numpy_helper.from_array(W, "W"))
    graph = helper.make_graph(
        outer_nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, b, 2])],
        [helper.make_tensor_value_info("sN", TensorProto.FLOAT, [b, 3]), helper.make_tensor_value_info("ys", TensorProto.FLOAT, [4, b, 3])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


def attempt(f):
    try:
        return f(), None
    except Exception as e:  # the facts are about which calls fail and how
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


def ort_run(model: ModelWrapper, x):
    s = ort.InferenceSession(model.model.SerializeToString())
    return s.run(None, {s.get_inputs()[0].name: x})


facts = []


def fact(text: str, holds: bool, detail: str = ""):
    facts.append(holds)
    print(f"{'holds ' if holds else 'BROKEN'}  {text}" + (f"\n        {detail}" if detail else ""))


want = ort_run(ModelWrapper(scan_model(False)), X)

# F2: execute_onnx runs each node alone and feeds only node.input.
r, err = attempt(lambda: execute_onnx(ModelWrapper(scan_model(True)).transform(InferShapes()), {"x": X}))
fact("F2 execute_onnx fails when a body reads an outer initializer", r is None, err or "")
m = ModelWrapper(scan_model(False)).transform(InferShapes())
r, err = attempt(lambda: execute_onnx(m, {"x": X}))
fact("F2 execute_onnx runs a self-contained body, equal to onnxruntime", r is not None and all(np.array_equal(a, b) for a, b in zip(r.values(), want)), err or "")

# F3: cleanup_model does not enter bodies.
c, err = attempt(lambda: cleanup_model(ModelWrapper(scan_model(True))))
kept = c is not None and len(c.graph.initializer) > 0 and any(numpy_helper.to_array(i).shape == W.shape for i in c.graph.initializer)
fact("F3 RemoveUnusedTensors deletes an outer initializer read only by a body", c is not None and not kept, err or "")
_, err = attempt(lambda: ort_run(c, X))
fact("F3 cleanup_model's output no longer loads in onnxruntime when a body reads the outer graph", err is not None, err or "")
c, err = attempt(lambda: cleanup_model(ModelWrapper(scan_model(False))))
r, err2 = attempt(lambda: execute_onnx(c, {c.graph.input[0].name: X}))
fact("F3 cleanup_model + execute_onnx on a self-contained body equals onnxruntime", r is not None and all(np.array_equal(a, b) for a, b in zip(r.values(), want)), err or err2 or "")

# F1/F4: symbolic dims are 0 for qonnx.
sym = ModelWrapper(scan_model(False, batch="batch"))
_, err = attempt(lambda: execute_onnx(sym.transform(InferShapes()), {"x": X}))
fact("F1 execute_onnx refuses a feed for an input with a symbolic dim", err is not None and "Shape mismatch" in err, err or "")
c = cleanup_model(sym)
zero_state = [numpy_helper.to_array(i).shape for i in c.graph.initializer if numpy_helper.to_array(i).ndim == 2]
out, err = attempt(lambda: ort_run(c, X))
fact(
    "F4 cleanup_model folds the zero state of a symbolic batch as [0, 3]; onnxruntime then returns empty outputs",
    zero_state == [(0, 3)] and out is not None and all(o.size == 0 for o in out),
    f"folded {zero_state}; outputs {[o.shape for o in out] if out else err}",
)
c = cleanup_model(sym, override_inpsize=(4, 1, 2))
zero_state = [numpy_helper.to_array(i).shape for i in c.graph.initializer if numpy_helper.to_array(i).ndim == 2]
r, err = attempt(lambda: execute_onnx(c, {c.graph.input[0].name: X}))
fact("F1 cleanup_model(override_inpsize=...) fixes the first input; the zero state folds as [1, 3]", zero_state == [(1, 3)] and r is not None, err or f"folded {zero_state}")

# F5: QCDQToQuant and subgraphs.
c = cleanup_model(ModelWrapper(scan_model(False, qdq=True)))
q = c.transform(QCDQToQuant())


def body_ops(model: ModelWrapper) -> list:
    scan = next(n for n in model.graph.node if n.op_type == "Scan")
    return [n.op_type for n in scan.attribute[0].g.node]


fact("F5 QCDQToQuant leaves bodies alone by default", "QuantizeLinear" in body_ops(q) and "Quant" not in body_ops(q), str(body_ops(q)))
q = c.transform(QCDQToQuant(), apply_to_subgraphs=True)
fact("F5 QCDQToQuant(apply_to_subgraphs=True) puts Quant nodes in bodies", "Quant" in body_ops(q) and "QuantizeLinear" not in body_ops(q), str(body_ops(q)))
_, err = attempt(lambda: execute_onnx(q, {q.graph.input[0].name: X}))
fact("F5 execute_onnx cannot run a Scan whose body holds Quant (onnxruntime runs the body)", err is not None and "Quant" in err, err or "")

# F6: an untyped body output gets a second ValueInfo from onnx's shape inference.
c = cleanup_model(ModelWrapper(scan_model(False, qdq=True, typed_outputs=False)))
_, err = attempt(lambda: c.transform(QCDQToQuant(), apply_to_subgraphs=True))
fact("F6 with untyped body outputs, QCDQToQuant(apply_to_subgraphs=True) fails on a duplicate ValueInfo", err is not None and "Multiple ValueInfoProto" in err, err or "")

sys.exit(0 if all(facts) else 1)
