#!/usr/bin/env python3
"""Regenerate the independent reference values used by the Rust acceptance tests.

What it computes
----------------
1. ``tests/fixtures/libsvm.json``: LIBSVM's own C-SVC solution (L1 loss, RBF
   kernel, default gamma = 1/number of features, C = 1, -e 0.001) on
   heart_scale, australian_scale, breast-cancer_scale and a1a, by running the
   ``svm-train`` binary and parsing what it prints (``obj``, ``rho``, ``nSV``,
   ``nBSV``, ``#iter``) and the ``label`` line of the model file it writes.
   Conventions (see src/formulation.rs): our dual objective is ``-obj`` and
   our bias is ``-rho`` *when LIBSVM's first label equals the first label in
   the file* (LIBSVM swaps a -1/+1 pair to put +1 first; the objective does not
   depend on the order, the sign of the bias does). ``label_order`` records
   LIBSVM's order so a test can tell.
2. ``tests/fixtures/interior_point.json``: the optimal dual objectives of the
   L2-loss (squared slack) and L1-loss (hinge) SVM duals, linear and RBF
   kernels (gamma = 1/number of features), C in {1, 10}, with bias on four
   datasets and without bias on heart_scale, computed by the Clarabel
   interior-point method (Python interface) at tight tolerances. The QP given
   to Clarabel is the minimisation

       min  1/2 a^T (Y K Y + D) a - 1^T a
       s.t. y^T a = 0      (ZeroCone; only with bias)
            a >= 0         (NonnegativeCone)
            a <= C         (NonnegativeCone; L1 only)

   with D = diag(1/C) for L2 and D = 0 for L1; our dual objective is minus
   Clarabel's objective. For the linear kernel the equivalent lifted form with
   variables (a, z), z = X^T Y a (ZeroCone) and objective
   1/2 |z|^2 + 1/2 a^T D a - 1^T a keeps P sparse. For RBF, K is formed in
   float64 (sparse dot products via scipy, so the values do not depend on the
   BLAS thread count) and P passed densely (upper triangle, CSC).
   Labels: y = +1 for the first label seen in the file, -1 for the other (the
   objective does not depend on this choice).
   Clarabel runs with tol_gap_abs = tol_gap_rel = tol_feas = 1e-12 and
   max_iter = 200; when it stops with a status other than Solved the solve is
   repeated with the fallback settings in CLARABEL_FALLBACKS (the settings
   used are stored with each entry), and the script fails if none solves.

How to run
----------
From the repository root::

    python3 scripts/regenerate_fixtures.py            # writes both files
    python3 scripts/regenerate_fixtures.py --skip-a1a-rbf   # if too slow

The script prints the wall time of each solve and of the whole run. The
output is byte-for-byte stable: keys sorted, floats written with ``repr``,
timings never written to the files.

What it needs
-------------
* Python 3 with numpy, scipy, scikit-learn (for ``load_svmlight_file``) and
  clarabel (the Python interface of the Clarabel solver; 0.11.1 was used).
* ``svm-train`` from LIBSVM on PATH (Debian/Ubuntu: ``apt-get install
  libsvm-tools``; 3.24+ds-6 was used). Debian's svm-train parses ``-g`` as
  float32, so the default gamma (computed in double by svm-train) is used.
* The datasets in ``datasets/`` (see datasets/PROVENANCE.md).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import clarabel
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = ["heart_scale", "australian_scale", "breast-cancer_scale", "a1a"]
NO_BIAS_DATASETS = ["heart_scale"]
COSTS = [1.0, 10.0]
LOSSES = ["l1", "l2"]
KERNELS = ["linear", "rbf"]

CLARABEL_SETTINGS = {
    "tol_gap_abs": 1e-12,
    "tol_gap_rel": 1e-12,
    "tol_feas": 1e-12,
    "max_iter": 200,
}
# Tried in order until Clarabel reports Solved; the settings used are stored
# with each entry. (australian_scale L2 RBF C=1 stops with InsufficientProgress
# under the defaults, 2e-4 relative away from the optimum: a status other than
# Solved is never accepted.)
CLARABEL_FALLBACKS = [
    {},
    {"equilibrate_enable": False},
    {"static_regularization_constant": 1e-10},
]
LIBSVM_ARGS = ["-s", "0", "-t", "2", "-c", "1", "-e", "0.001"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dataset_path(name):
    return os.path.join(ROOT, "datasets", name)


def load(name):
    """Features (CSR, float64), labels (+1 for the first label seen), n_features."""
    x, raw = load_svmlight_file(dataset_path(name), dtype=np.float64)
    first = raw[0]
    y = np.where(raw == first, 1.0, -1.0)
    classes = set(raw.tolist())
    if len(classes) != 2:
        raise SystemExit(f"{name}: expected 2 classes, found {sorted(classes)}")
    # load_svmlight_file sizes X by the largest index in the file (1-based).
    return x.tocsr(), y, x.shape[1]


# ---------------------------------------------------------------- LIBSVM


def svm_train_version():
    """svm-train prints no version; ask the package manager, else say so."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "libsvm-tools"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"libsvm-tools {out} (Debian package of LIBSVM)"
    except (OSError, subprocess.CalledProcessError):
        return "unknown (svm-train prints no version)"


def run_libsvm(name):
    path = dataset_path(name)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        cmd = ["svm-train", *LIBSVM_ARGS, path, model]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        elapsed = time.perf_counter() - t0
        with open(model) as f:
            model_text = f.read()
    obj, rho = re.search(r"obj = (\S+), rho = (\S+)", out).groups()
    nsv, nbsv = re.search(r"nSV = (\d+), nBSV = (\d+)", out).groups()
    iters = re.search(r"#iter = (\d+)", out).group(1)
    gamma = re.search(r"^gamma (\S+)$", model_text, re.M).group(1)
    labels = re.search(r"^label (.+)$", model_text, re.M).group(1).split()
    rho_model = re.search(r"^rho (\S+)$", model_text, re.M).group(1)
    print(f"  svm-train {name}: obj {obj} nSV {nsv} ({elapsed:.2f} s)", flush=True)
    return {
        "dataset": f"datasets/{name}",
        "sha256": sha256(path),
        "command": " ".join(["svm-train", *LIBSVM_ARGS, f"datasets/{name}", "<model>"]),
        "loss": "l1",
        "kernel": "rbf",
        "c": 1.0,
        "eps": 0.001,
        "gamma": float(gamma),
        "obj": float(obj),
        "rho": float(rho),
        "rho_model_file": float(rho_model),
        "n_sv": int(nsv),
        "n_bsv": int(nbsv),
        "iterations": int(iters),
        "label_order": labels,
        "dual_objective": -float(obj),
    }


# ------------------------------------------------------------- Clarabel


def clarabel_settings(extra):
    s = clarabel.DefaultSettings()
    s.verbose = False
    for k, v in {**CLARABEL_SETTINGS, **extra}.items():
        setattr(s, k, v)
    return s


def rbf_kernel(x, gamma):
    """exp(-gamma |xi - xj|^2) in float64 from sparse dot products."""
    gram = (x @ x.T).toarray()
    sq = np.asarray(x.multiply(x).sum(axis=1)).ravel()
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0)
    return np.exp(-gamma * dist)


def solve_dual(x, y, n_features, loss, kernel, c, bias):
    n = x.shape[0]
    shift = np.full(n, 1.0 / c) if loss == "l2" else np.zeros(n)
    rows = []  # (A block, b, cone)
    if kernel == "linear":
        d = n_features
        # variables (alpha, z); P = blkdiag(D, I)
        p = sp.block_diag([sp.diags(shift), sp.identity(d)], format="csc")
        q = np.concatenate([-np.ones(n), np.zeros(d)])
        xty = (x.T @ sp.diags(y)).tocsc()  # d x n
        # z - X^T Y alpha = 0
        rows.append((sp.hstack([-xty, sp.identity(d)]), np.zeros(d), clarabel.ZeroConeT(d)))
        nvar = n + d

        def pad(block):
            return sp.hstack([block, sp.csc_matrix((block.shape[0], d))])

    else:
        gamma = 1.0 / n_features
        k = rbf_kernel(x, gamma)
        qmat = (y[:, None] * k * y[None, :]) + np.diag(shift)
        p = sp.csc_matrix(np.triu(qmat))
        q = -np.ones(n)
        nvar = n

        def pad(block):
            return block

    if bias:
        rows.append((pad(sp.csc_matrix(y.reshape(1, n))), np.zeros(1), clarabel.ZeroConeT(1)))
    rows.append((pad(-sp.identity(n)), np.zeros(n), clarabel.NonnegativeConeT(n)))
    if loss == "l1":
        rows.append((pad(sp.identity(n)), np.full(n, c), clarabel.NonnegativeConeT(n)))
    a = sp.vstack([r[0] for r in rows], format="csc")
    b = np.concatenate([r[1] for r in rows])
    cones = [r[2] for r in rows]
    assert a.shape[1] == nvar
    p = sp.triu(p, format="csc")
    for extra in CLARABEL_FALLBACKS:
        sol = clarabel.DefaultSolver(p, q, a, b, cones, clarabel_settings(extra)).solve()
        if str(sol.status) == "Solved":
            return sol, extra
        print(f"    {sol.status} with extra settings {extra}; retrying", flush=True)
    raise SystemExit("Clarabel did not reach Solved with any settings")


def interior_point_entries(names, skip_a1a_rbf):
    entries = []
    for name in names:
        x, y, nf = load(name)
        biases = [True, False] if name in NO_BIAS_DATASETS else [True]
        for bias in biases:
            for kernel in KERNELS:
                if kernel == "rbf" and name == "a1a" and skip_a1a_rbf:
                    print("  skipping a1a rbf (--skip-a1a-rbf)", flush=True)
                    continue
                for loss in LOSSES:
                    for c in COSTS:
                        t0 = time.perf_counter()
                        sol, extra = solve_dual(x, y, nf, loss, kernel, c, bias)
                        elapsed = time.perf_counter() - t0
                        status = str(sol.status)
                        print(
                            f"  clarabel {name} {loss} {kernel} C={c:g} bias={bias}: "
                            f"{status}, {sol.iterations} it, "
                            f"dual {-sol.obj_val!r} ({elapsed:.1f} s)",
                            flush=True,
                        )
                        entries.append(
                            {
                                "dataset": f"datasets/{name}",
                                "sha256": sha256(dataset_path(name)),
                                "n_rows": int(x.shape[0]),
                                "n_features": int(nf),
                                "loss": loss,
                                "kernel": kernel,
                                "gamma": (1.0 / nf) if kernel == "rbf" else None,
                                "c": c,
                                "bias": bias,
                                "dual_objective": -float(sol.obj_val),
                                "clarabel_obj_val": float(sol.obj_val),
                                "clarabel_obj_val_dual": float(sol.obj_val_dual),
                                "clarabel_gap_abs": abs(float(sol.obj_val) - float(sol.obj_val_dual)),
                                "clarabel_r_prim": float(sol.r_prim),
                                "clarabel_r_dual": float(sol.r_dual),
                                "clarabel_status": status,
                                "clarabel_iterations": int(sol.iterations),
                                "clarabel_extra_settings": extra,
                            }
                        )
    return entries


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-a1a-rbf", action="store_true", help="skip the dense a1a RBF solves")
    args = ap.parse_args()
    if shutil.which("svm-train") is None:
        raise SystemExit("svm-train not on PATH (apt-get install libsvm-tools)")
    out_dir = os.path.join(ROOT, "tests", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()

    print("LIBSVM:", flush=True)
    libsvm = {
        "generator": "scripts/regenerate_fixtures.py",
        "svm_train_version": svm_train_version(),
        "convention": "dual_objective = -obj; bias b = -rho when label_order[0] is the "
        "label svm-dual maps to +1, +rho otherwise",
        "entries": [run_libsvm(name) for name in DATASETS],
    }
    write_json(os.path.join(out_dir, "libsvm.json"), libsvm)

    print("Clarabel:", flush=True)
    ip = {
        "generator": "scripts/regenerate_fixtures.py",
        "clarabel_python_version": getattr(clarabel, "__version__", "unknown"),
        "clarabel_settings": CLARABEL_SETTINGS,
        "clarabel_fallback_settings": CLARABEL_FALLBACKS,
        "numpy_version": np.__version__,
        "convention": "dual_objective = -(clarabel objective of min 1/2 a'(YKY+D)a - 1'a); "
        "D = diag(1/C) for l2, 0 for l1; gamma = 1/n_features; y = +1 for the first label seen",
        "skipped": ["a1a rbf"] if args.skip_a1a_rbf else [],
        "entries": interior_point_entries(DATASETS, args.skip_a1a_rbf),
    }
    write_json(os.path.join(out_dir, "interior_point.json"), ip)
    print(f"total wall time {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
