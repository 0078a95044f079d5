"""PyTorch's sigmoid and tanh against the true function, the companion of activation-error.ts.

Run with the torch venv (see docs/notes/reference.md):
    /work/.venv-torch/bin/python bench/activation_error_torch.py [--all]

Every float32 input with |x| <= 20 (or every finite float32 with --all), through both of
ATen's CPU paths: the vectorised loop (a contiguous tensor, as Brevitas' [B, H] gates are)
and the scalar loop (a strided view, which TensorIterator runs element by element, the same
code a length-1 tensor runs; checked on a sample). Errors are in the unit of ACTIVATION_ULPS
(float32 ulps of max(|f(x)|, 1/2)), in ulps of the output, and absolute. One thread.
"""
import sys
import time

import numpy as np
import torch

CHUNK = 1 << 24
torch.set_num_threads(1)


def ulp32(v):
    a = np.maximum(np.abs(v), 2.0 ** -126)
    e = np.floor(np.log2(a))
    e = np.where(2.0 ** e > a, e - 1, np.where(2.0 ** (e + 1) <= a, e + 1, e))
    return 2.0 ** (e - 23)


def true_value(kind, x):
    x = x.astype(np.float64)
    return 1.0 / (1.0 + np.exp(-x)) if kind == "sigmoid" else np.tanh(x)


def function(kind):
    return torch.sigmoid if kind == "sigmoid" else torch.tanh


def measure(kind, all_inputs):
    f = function(kind)
    limit = 0x7F7FFFFF if all_inputs else int(np.array([20.0], dtype=np.float32).view(np.uint32)[0])
    worst = {(path, unit): (0.0, 0.0, 0.0, 0.0) for path in ("vectorised", "scalar") for unit in ("unit", "ulps", "absolute")}
    started = time.time()
    count = 0
    for sign in (0, 0x80000000):
        for start in range(0, limit + 1, CHUNK):
            bits = np.arange(start, min(start + CHUNK, limit + 1), dtype=np.uint64).astype(np.uint32) | np.uint32(sign)
            x = bits.view(np.float32)
            want = true_value(kind, x)
            xt = torch.from_numpy(x)
            strided = torch.empty(2 * len(x), dtype=torch.float32)
            strided[::2] = xt
            results = {
                "vectorised": f(xt).numpy().astype(np.float64),
                "scalar": f(strided[::2]).contiguous().numpy().astype(np.float64),
            }
            difference_unit = ulp32(np.maximum(np.abs(want), 0.5))
            difference_ulps = ulp32(want)
            for path, got in results.items():
                d = np.abs(got - want)
                for unit, e in (("unit", d / difference_unit), ("ulps", d / difference_ulps), ("absolute", d)):
                    i = int(np.argmax(e))
                    if e[i] > worst[(path, unit)][0]:
                        worst[(path, unit)] = (float(e[i]), float(x[i]), float(got[i]), float(want[i]))
            count += len(x)
    print(f"torch {torch.__version__} {kind}: {count} inputs ({'all finite float32' if all_inputs else '|x| <= 20'}), {time.time() - started:.0f} s")
    for (path, unit), (e, x, got, want) in worst.items():
        print(f"  {path:10s} {unit:8s} {e:.4g} at x={x!r} (got {got!r}, true {want!r})")


def check_scalar_path(kind):
    """A length-1 tensor runs the same scalar code as the strided view: compare on a sample."""
    f = function(kind)
    rng = np.random.default_rng(0)
    x = rng.uniform(-20, 20, 20000).astype(np.float32)
    x = np.concatenate([x, (rng.integers(0, 0x41A00000, 20000, dtype=np.uint32) | (rng.integers(0, 2, 20000, dtype=np.uint32) << 31)).view(np.float32)])
    strided = torch.empty(2 * len(x), dtype=torch.float32)
    strided[::2] = torch.from_numpy(x)
    via_strided = f(strided[::2]).contiguous().numpy()
    one_by_one = np.array([f(torch.tensor([v], dtype=torch.float32)).item() for v in x], dtype=np.float32)
    vectorised = f(torch.from_numpy(x)).numpy()
    same = int(np.sum(via_strided.view(np.uint32) == one_by_one.view(np.uint32)))
    differs_from_vectorised = int(np.sum(vectorised.view(np.uint32) != one_by_one.view(np.uint32)))
    print(f"  length-1 tensors equal the strided path on {same} of {len(x)} sampled inputs; the vectorised path differs on {differs_from_vectorised}")


if __name__ == "__main__":
    everything = "--all" in sys.argv
    for kind in ("sigmoid", "tanh"):
        measure(kind, everything)
        check_scalar_path(kind)
