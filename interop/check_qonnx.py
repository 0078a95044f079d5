"""Every converted corpus model in qonnx, the library FINN is built on, as its users run it.

For each corpus case and export flavour, qlstm converts the export (with --static-shapes, and
without), then:

  load     ModelWrapper(file)
  cleanup  qonnx.util.cleanup.cleanup_model (for symbolic models also with
           override_inpsize = the first input's shape, qonnx's own way to fix input shapes)
  ort      the cleaned model in onnxruntime at every optimization level, against the goldens
  exec     qonnx.core.onnx_exec.execute_onnx on the cleaned model, against the goldens
  quant    QCDQToQuant (outer graph), cleanup_model again, execute_onnx, against the goldens
  bodies   QCDQToQuant(apply_to_subgraphs=True): how many body QDQ pairs became Quant
           (not executable: qonnx hands a Scan to onnxruntime, which has no Quant)

Outputs are compared in LSB of the output quantizer (output_scale; cell_state_scale for the
last cell state, from the case JSON), float heads within 1e-6 absolute. Exits 1 on any
difference from a golden, and on any outcome other than the one docs/notes/interop.md
documents for that mode (docs/notes/interop-findings.md; static: everything exact;
symbolic: execute_onnx refuses the feeds and cleanup_model folds the zero state with batch 0;
symbolic + override_inpsize: exact for single-input models, except where a later layer's
zero state folds with batch 0 too).

Run: npm run interop   (or interop/.venv/bin/python interop/check_qonnx.py [--cases a,b] ...)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

import qonnx_env

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.qcdq_to_qonnx import QCDQToQuant
from qonnx.util.cleanup import cleanup_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAVOURS = ("qcdq", "qcdq-int", "qonnx")
LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
FLOAT_TOLERANCE = 1e-6


class Case:
    def __init__(self, corpus, meta_file):
        with open(os.path.join(corpus, meta_file)) as f:
            self.meta = json.load(f)
        self.corpus = corpus
        self.name = self.meta["case"]
        self.float_head = self.meta["wrapper"] == "classifier"
        # a flavour Brevitas refused to export holds the exporter's message instead of a file
        self.flavours = [f for f in FLAVOURS if str(self.meta["exports"].get(f, "")).endswith(".onnx")]

    def file(self, flavour):
        return os.path.join(self.corpus, self.meta["exports"][flavour])

    def inputs(self):
        return [np.load(os.path.join(self.corpus, i["file"])) for i in self.meta["inputs"]]

    def goldens(self):
        return [np.load(os.path.join(self.corpus, o["file"])) for o in self.meta["outputs"]]

    def lsb(self, k):
        return None if self.float_head else (self.meta["cell_state_scale"] if k == 2 else self.meta["output_scale"])


class Outcome:
    """One check's result: kind is exact | differs | empty | refused | error | n/a."""

    def __init__(self, kind, text):
        self.kind, self.text = kind, text

    def __str__(self):
        return self.text if len(self.text) <= 160 else self.text[:157] + "..."


def compare(case, outputs):
    worst, unequal = 0.0, 0
    for k, (got, want) in enumerate(zip(outputs, case.goldens())):
        if got.shape != want.shape:
            if got.size == 0:
                return Outcome("empty", f"EMPTY {list(got.shape)}")
            return Outcome("differs", f"shape {list(got.shape)} != {list(want.shape)}")
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        if case.lsb(k) is None:
            if diff.max(initial=0) > FLOAT_TOLERANCE:
                unequal += int(np.count_nonzero(diff > FLOAT_TOLERANCE))
            worst = max(worst, float(diff.max(initial=0)))
        else:
            unequal += int(np.count_nonzero(diff))
            worst = max(worst, float(diff.max(initial=0)) / case.lsb(k))
    unit = "abs" if case.float_head else "LSB"
    if unequal:
        return Outcome("differs", f"{unequal} differ, max {worst:.3g} {unit}")
    return Outcome("exact", f"exact" if not case.float_head else f"<= {worst:.1g} abs")


def attempt(f):
    try:
        return f(), None
    except Exception as e:  # qonnx signals refusals with bare Exception/AssertionError
        text = error_text(e) if str(e).strip() else type(e).__name__
        if text.startswith("Shape mismatch for provided input"):
            return None, Outcome("refused", "refused: symbolic dims (found " + text.split("found ")[1].split(" expected")[0] + ")")
        if "Can broadcast 0 by 0 or 1" in text:
            return None, Outcome("error", "FAILS: batch-0 initial state does not broadcast")
        return None, Outcome("error", f"{type(e).__name__}: {text}")


def feeds_for(model, arrays):
    return {vi.name: a for vi, a in zip(model.graph.input, arrays)}


def run_ort(case, model):
    bytes_ = model.model.SerializeToString()
    results = []
    for name, level in LEVELS.items():
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        options.log_severity_level = 4  # failures arrive as exceptions
        session = ort.InferenceSession(bytes_, options, providers=["CPUExecutionProvider"])
        feeds = {i.name: a for i, a in zip(session.get_inputs(), case.inputs())}
        for _ in range(2):
            results.append(compare(case, session.run(None, feeds)))
    bad = [r for r in results if r.kind not in ("exact",)]
    return bad[0] if bad else results[0]


def execute(case, model):
    out, failure = attempt(lambda: execute_onnx(model, feeds_for(model, case.inputs())))
    if failure:
        return failure
    return compare(case, [out[o.name] for o in model.graph.output])


def error_text(e):
    text = str(e).strip()
    # onnxruntime nests the failing node's message inside the Scan's
    return text.split("Status Message: ")[-1].splitlines()[0] if "Status Message: " in text else text.splitlines()[0]


def count_ops(model, op_type, bodies):
    n = 0
    for node in model.graph.node:
        if not bodies and node.op_type == op_type:
            n += 1
        for a in node.attribute:
            if bodies and a.type == a.GRAPH:
                n += sum(1 for b in a.g.node if b.op_type == op_type)
    return n


def check(case, path, mode):
    """Runs the pipeline on one converted model; returns {column: Outcome}."""
    row = {}
    model, failure = attempt(lambda: ModelWrapper(path))
    if failure:
        return {"load": failure}
    def static(values):
        return all(d.HasField("dim_value") for v in values for d in v.type.tensor_type.shape.dim)

    inputs_static, outputs_static = static(model.graph.input), static(model.graph.output)
    text = "static" if inputs_static and outputs_static else "inputs static" if inputs_static else "symbolic"
    # --static-shapes must give static inputs (F1, F4); static outputs are reported, not required
    row["load"] = Outcome("exact" if inputs_static or mode != "static" else "error", f"ok, {text}")
    if mode == "static" and inputs_static:
        traced = [tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in model.graph.input]
        given = [tuple(a.shape) for a in case.inputs()]
        if traced != given:
            # the at-scale goldens were computed at another length and batch than the export traced
            row["load"] = Outcome("n/a", f"n/a: traced at {traced[0]}, goldens at {given[0]}")
            return row
    qonnx_env.set_ir_version(model.model.ir_version)
    kwargs = {"override_inpsize": tuple(case.inputs()[0].shape)} if mode == "override" else {}
    cleaned, failure = attempt(lambda: cleanup_model(model, **kwargs))
    if failure:
        row["cleanup"] = failure
        return row
    # F4/F7: FoldConstants ran Shape on a tensor whose batch qonnx could not know (0)
    folded = [i.name for i in cleaned.graph.initializer if 0 in i.dims]
    row["cleanup"] = Outcome("exact", f"ok, {len(folded)} zero-batch folds" if folded else "ok")
    ort_result, failure = attempt(lambda: run_ort(case, cleaned))
    row["ort"] = failure or ort_result
    row["exec"] = execute(case, cleaned)
    quant, failure = attempt(lambda: cleanup_model(cleaned.transform(QCDQToQuant())))
    if failure:
        row["quant"] = failure
    else:
        result = execute(case, quant)
        row["quant"] = Outcome(result.kind, f"{count_ops(quant, 'Quant', False)} Quant: {result}")
    bodies, failure = attempt(lambda: cleaned.transform(QCDQToQuant(), apply_to_subgraphs=True))
    if failure:
        row["bodies"] = failure
    else:
        row["bodies"] = Outcome("exact", f"{count_ops(bodies, 'Quant', True)} Quant, {count_ops(bodies, 'QuantizeLinear', True)} QL left")
    return row


def expected(case, mode, column, outcome, row):
    """Whether an outcome is the documented one for its mode (docs/notes/interop-findings.md)."""
    if outcome.kind in ("exact", "n/a"):
        return True
    # F4 (symbolic) and F7 (override_inpsize, a second layer at batch 1): cleanup_model folded
    # a zero state with batch 0; onnxruntime then returns empty outputs or fails, and so does
    # execute_onnx. A same-shaped output that differs is never expected.
    zero_batch = "zero-batch" in row["cleanup"].text if "cleanup" in row else False
    failed = outcome.kind in ("empty", "error", "refused")
    if mode in ("symbolic", "override") and zero_batch and failed and column in ("ort", "exec", "quant"):
        return True
    if mode == "symbolic":
        # F1: execute_onnx reads symbolic dims as 0 and refuses the feeds
        return column in ("exec", "quant") and outcome.kind == "refused"
    if mode == "override":
        # override_inpsize fixes the first graph input only: initial-state inputs stay symbolic
        multi_input = len(case.meta["inputs"]) > 1
        return multi_input and column in ("exec", "quant") and outcome.kind == "refused"
    return False


def qlstm_supports_static_shapes(qlstm):
    text = subprocess.run(["node", qlstm, "convert", "--help"], capture_output=True, text=True).stdout
    return "--static-shapes" in text


LIBRARY_CONVERT = """
import fs from 'node:fs';
import { convert } from %s;
const [input, output, layout] = process.argv.slice(1);
fs.writeFileSync(output, convert(fs.readFileSync(input), { source: input, layout, staticShapes: true }).bytes);
"""


def convert(args, source, path, static, native_static):
    """qlstm convert; static shapes through the CLI flag, or the library option until the CLI has it."""
    if static and not native_static:
        index = json.dumps("file://" + os.path.join(ROOT, "dist", "src", "index.js"))
        command = ["node", "--input-type=module", "-e", LIBRARY_CONVERT % index, source, path, args.layout]
    else:
        command = ["node", args.qlstm, "convert", source, path, "--layout", args.layout, *(["--static-shapes"] if static else [])]
    return subprocess.run(command, capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=os.path.join(ROOT, "fixtures", "brevitas-corpus"))
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--modes", default="static,symbolic,override", help="static, symbolic, override (symbolic + override_inpsize)")
    parser.add_argument("--layout", default="fused")
    parser.add_argument("--qlstm", default=os.path.join(ROOT, "bin", "qlstm.js"))
    parser.add_argument("--keep", help="write the converted models to this folder and keep them")
    args = parser.parse_args()
    qonnx_env.quiet()
    os.environ.setdefault("ORT_LOGGING_LEVEL", "3")
    ort.set_default_logger_severity(4)  # failures arrive as exceptions; the table reports them

    wanted = set(filter(None, args.cases.split(",")))
    cases = [Case(args.corpus, f) for f in sorted(os.listdir(args.corpus)) if f.endswith(".json")]
    cases = [c for c in cases if not wanted or c.name in wanted]
    modes = args.modes.split(",")
    native_static = qlstm_supports_static_shapes(args.qlstm)
    out_dir = args.keep or tempfile.mkdtemp(prefix="qlstm-qonnx-")
    os.makedirs(out_dir, exist_ok=True)
    print(f"qonnx check: {len(cases)} cases, layout {args.layout}, modes {', '.join(modes)}")
    print("qonnx's one-node models get the converted model's IR version (interop/qonnx_env.py)")
    if "static" in modes and not native_static:
        print("NOTE: `qlstm convert` has no --static-shapes yet: static models come from the library, convert(bytes, { staticShapes: true })")
    columns = ["load", "cleanup", "ort", "exec", "quant", "bodies"]
    header = ["case", "flavour", "mode", *columns]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    unexpected = 0
    not_comparable = 0
    started = time.time()
    for case in cases:
        for flavour in case.flavours:
            for mode in modes:
                path = os.path.join(out_dir, f"{case.name}.{flavour}.{mode}.onnx")
                r = convert(args, case.file(flavour), path, mode == "static", native_static)
                if r.returncode != 0:
                    row = {"load": Outcome("error", f"qlstm convert exit {r.returncode}: {r.stderr.strip()}")}
                else:
                    row = check(case, path, mode)
                not_comparable += 1 if row["load"].kind == "n/a" else 0
                cells = []
                for column in columns:
                    outcome = row.get(column)
                    if outcome is None:
                        cells.append("-")
                        continue
                    ok = expected(case, mode, column, outcome, row)
                    unexpected += 0 if ok else 1
                    cells.append(str(outcome) if ok else f"**{outcome}**")
                print(f"| {case.name} | {flavour} | {mode} | " + " | ".join(cells) + " |", flush=True)
                if not args.keep:
                    os.remove(path) if os.path.exists(path) else None
    print(f"\n{unexpected} unexpected outcome(s) (in bold) in {time.time() - started:.0f} s")
    if not_comparable:
        print(f"{not_comparable} model(s) not checked: their static shapes are not the goldens' (n/a)")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
