#!/usr/bin/env python3
"""Regenerate tests/fixtures/joint_multiclass.json: reference optima of the
joint multiclass SVM duals (Crammer-Singer, Weston-Watkins).

Two kinds of entries:

* ``interior_point``: the explicit dual QP solved by Clarabel (interior
  point) at tight tolerances, written independently of the Rust code:
  - Crammer-Singer in its original variables: alpha (n x k),
    sum_m alpha_im = 0, alpha_im <= C [m = y_i];
  - Weston-Watkins in the multipliers beta_im in [0, C] (m != y_i) of the
    margin constraints, with alpha_im = -beta_im, alpha_iy = sum_m beta_im
    as equality constraints;
  objective min 1/2 sum_m ||w_m||^2 - sum_i sum_{m != y_i} beta/(-alpha),
  with w_m = sum_i alpha_im phi(x_i). The RBF kernel (gamma = 1/number of
  features) enters through P = K (x) I_k; the linear kernel through extra
  variables z_m = X^T alpha_m (P = I on z). ``dual_objective`` is the
  maximisation-form dual D = -(Clarabel's objective).
* ``liblinear``: ``liblinear-train -s 4 -c C -B -1 -e EPS`` (Crammer-Singer,
  no bias) on the data; ``liblinear_objective`` is the "Objective value" it
  prints (the minimisation form, so D = -objective), and
  ``liblinear_primal`` is P(W) = 1/2 ||W||^2 + C sum_i max_j (w_j.x_i -
  w_y.x_i + [j != y_i]) computed here from the W of its model file.

Requirements: python3 with numpy, scipy, scikit-learn (load_svmlight_file)
and clarabel (0.11.1 was used); liblinear-train on PATH (Debian
liblinear-tools 2.3.0 was used). Datasets: datasets/ (iris, wine,
glass.scale) and ../shared/datasets (digits, news20) relative to the
repository; the big ones are skipped with --small.

    python3 scripts/joint_multiclass_fixtures.py [--small]
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time

import clarabel
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
IP_SETS = ["iris", "wine"]
IP_METHODS = ["crammer-singer", "weston-watkins"]
IP_KERNELS = ["rbf", "linear"]
C = 1.0
LIBLINEAR_SETS = ["iris", "wine", "glass.scale", "digits", "news20"]
LIBLINEAR_EPS = "1e-5"
CLARABEL_SETTINGS = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "max_iter": 300,
}


def path_of(name):
    local = os.path.join(ROOT, "datasets", name)
    return local if os.path.exists(local) else os.path.join(SHARED, name)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def load(name):
    x, labels = load_svmlight_file(path_of(name), dtype=np.float64)
    # Classes in order of first appearance (as svm-dual numbers them).
    classes = []
    for l in labels:
        if l not in classes:
            classes.append(l)
    y = np.array([classes.index(l) for l in labels])
    # Number of features: the largest index in the file.
    nf = int(x.indices.max()) + 1 if x.nnz else 0
    return x.tocsr()[:, :nf], y, len(classes), nf


def rbf_kernel(x, gamma):
    gram = (x @ x.T).toarray()
    sq = np.asarray(x.multiply(x).sum(axis=1)).ravel()
    return np.exp(-gamma * np.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0))


def solve_ip(x, y, k, nf, method, kernel, c):
    n = x.shape[0]
    na = n * k
    wrong = [(i, m) for i in range(n) for m in range(k) if m != y[i]]
    nb = len(wrong) if method == "weston-watkins" else 0
    nz = nf * k if kernel == "linear" else 0
    nvar = na + nb + nz
    # Variable layout: alpha (i*k+m), beta (WW), z (linear: j*k+m).
    q = np.zeros(nvar)
    if method == "crammer-singer":
        for i, m in wrong:
            q[i * k + m] = 1.0  # + sum_{m != y} alpha_im
    else:
        q[na : na + nb] = -1.0  # - sum beta
    if kernel == "linear":
        p = sp.block_diag([sp.csc_matrix((na + nb, na + nb)), sp.identity(nz)], format="csc")
    else:
        kmat = rbf_kernel(x, 1.0 / nf)
        p = sp.block_diag(
            [sp.kron(sp.csc_matrix(kmat), sp.identity(k)), sp.csc_matrix((nb + nz, nb + nz))],
            format="csc",
        )
    rows = []
    if kernel == "linear":
        # z - (X^T (x) I) alpha = 0
        xt = sp.kron(x.T.tocsc(), sp.identity(k), format="csc")  # (nf*k) x (n*k)
        a = sp.hstack([-xt, sp.csc_matrix((nz, nb)), sp.identity(nz)])
        rows.append((a, np.zeros(nz), clarabel.ZeroConeT(nz)))
    if method == "crammer-singer":
        # sum_m alpha_im = 0
        a = sp.hstack([sp.kron(sp.identity(n), np.ones((1, k))), sp.csc_matrix((n, nvar - na))])
        rows.append((a, np.zeros(n), clarabel.ZeroConeT(n)))
        # alpha_im <= C [m = y_i]
        ub = np.zeros(na)
        ub[np.arange(n) * k + y] = c
        a = sp.hstack([sp.identity(na), sp.csc_matrix((na, nvar - na))])
        rows.append((a, ub, clarabel.NonnegativeConeT(na)))
    else:
        # alpha_im + beta_im = 0 (m != y), alpha_iy - sum_m beta_im = 0
        t = sp.lil_matrix((na, nb))
        for b, (i, m) in enumerate(wrong):
            t[i * k + m, b] = 1.0
            t[i * k + y[i], b] = -1.0
        a = sp.hstack([sp.identity(na), t.tocsc(), sp.csc_matrix((na, nz))])
        rows.append((a, np.zeros(na), clarabel.ZeroConeT(na)))
        # 0 <= beta <= C
        eye = sp.identity(nb)
        zl = sp.csc_matrix((nb, na))
        zr = sp.csc_matrix((nb, nz))
        rows.append((sp.hstack([zl, -eye, zr]), np.zeros(nb), clarabel.NonnegativeConeT(nb)))
        rows.append((sp.hstack([zl, eye, zr]), np.full(nb, c), clarabel.NonnegativeConeT(nb)))
    a = sp.vstack([r[0] for r in rows], format="csc")
    b = np.concatenate([r[1] for r in rows])
    cones = [r[2] for r in rows]
    s = clarabel.DefaultSettings()
    s.verbose = False
    for key, v in CLARABEL_SETTINGS.items():
        setattr(s, key, v)
    sol = clarabel.DefaultSolver(sp.triu(p, format="csc"), q, a, b, cones, s).solve()
    return sol


def cs_primal(w, x, y, c):
    """1/2 ||W||^2 + C sum_i max_j (s_ij - s_iy + [j != y_i]); W is k x nf."""
    s = np.asarray(x @ w.T)
    n = x.shape[0]
    margins = s - s[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 0.0
    return 0.5 * float((w * w).sum()) + c * float(margins.max(axis=1).sum())


def read_liblinear_w(path, nf, classes_in_order):
    with open(path) as f:
        lines = f.read().split("\n")
    labels = None
    nr_feature = None
    start = None
    for i, line in enumerate(lines):
        if line.startswith("label "):
            labels = [float(v) for v in line.split()[1:]]
        elif line.startswith("nr_feature "):
            nr_feature = int(line.split()[1])
        elif line.strip() == "w":
            start = i + 1
            break
    k = len(labels)
    w = np.array([[float(v) for v in lines[start + j].split()] for j in range(nr_feature)])
    assert w.shape == (nr_feature, k)
    # Columns in our class order (first appearance).
    order = [labels.index(cl) for cl in classes_in_order]
    full = np.zeros((k, nf))
    full[:, : min(nf, nr_feature)] = w[: min(nf, nr_feature), order].T
    return full


def liblinear_entry(name, c):
    x, labels = load_svmlight_file(path_of(name), dtype=np.float64)
    classes = []
    for l in labels:
        if l not in classes:
            classes.append(l)
    y = np.array([classes.index(l) for l in labels])
    nf = int(x.indices.max()) + 1
    x = x.tocsr()[:, :nf]
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        args = ["liblinear-train", "-s", "4", "-c", repr(c), "-B", "-1", "-e", LIBLINEAR_EPS]
        t0 = time.perf_counter()
        out = subprocess.run(
            args + [path_of(name), model], capture_output=True, text=True, check=True
        ).stdout
        elapsed = time.perf_counter() - t0
        obj = float(re.search(r"Objective value = (\S+)", out).group(1))
        it = int(re.search(r"#iter = (\d+)", out).group(1))
        w = read_liblinear_w(model, nf, classes)
    primal = cs_primal(w, x, y, c)
    print(
        f"  liblinear {name} C={c:g}: objective {obj!r} (D = {-obj!r}), primal {primal!r}, "
        f"{it} iterations, {elapsed:.2f} s",
        flush=True,
    )
    return {
        "dataset": os.path.relpath(path_of(name), ROOT),
        "sha256": sha256(path_of(name)),
        "method": "crammer-singer",
        "kernel": "linear",
        "c": c,
        "args": args[1:],
        "liblinear_objective": obj,
        "dual_objective": -obj,
        "liblinear_primal": primal,
        "liblinear_iterations": it,
        "liblinear_seconds": elapsed,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="skip digits and news20")
    args = ap.parse_args()
    ip = []
    for name in IP_SETS:
        x, y, k, nf = load(name)
        for method in IP_METHODS:
            for kernel in IP_KERNELS:
                t0 = time.perf_counter()
                sol = solve_ip(x, y, k, nf, method, kernel, C)
                elapsed = time.perf_counter() - t0
                status = str(sol.status)
                print(
                    f"  clarabel {name} {method} {kernel} C={C:g}: {status}, "
                    f"{sol.iterations} it, D = {-sol.obj_val!r} ({elapsed:.1f} s)",
                    flush=True,
                )
                if status != "Solved":
                    raise SystemExit(f"Clarabel ended with {status}")
                ip.append(
                    {
                        "dataset": f"datasets/{name}",
                        "sha256": sha256(path_of(name)),
                        "method": method,
                        "kernel": kernel,
                        "gamma": (1.0 / nf) if kernel == "rbf" else None,
                        "c": C,
                        "dual_objective": -float(sol.obj_val),
                        "clarabel_obj_val_dual": float(sol.obj_val_dual),
                        "clarabel_status": status,
                        "clarabel_iterations": int(sol.iterations),
                    }
                )
    ll = []
    for name in LIBLINEAR_SETS:
        if args.small and name in ("digits", "news20"):
            continue
        ll.append(liblinear_entry(name, C))
    doc = {
        "generator": "scripts/joint_multiclass_fixtures.py",
        "clarabel_version": clarabel.__version__,
        "clarabel_settings": CLARABEL_SETTINGS,
        "interior_point": ip,
        "liblinear": ll,
    }
    out = os.path.join(ROOT, "tests", "fixtures", "joint_multiclass.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
