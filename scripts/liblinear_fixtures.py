#!/usr/bin/env python3
"""Regenerate tests/fixtures/liblinear.json: LIBLINEAR's dual objectives for
the linear SVM tests (tests/linear.rs), from the ``liblinear-train`` binary.

What it runs
------------
For heart_scale and a1a (``datasets/``), LIBLINEAR solvers

* ``-s 3`` (L2-regularised L1-loss SVC, dual coordinate descent) at ``-c 1``;
* ``-s 1`` (L2-regularised L2-loss SVC, dual coordinate descent) at
  ``-c 0.5``;

each without bias (``-B -1``) and with LIBLINEAR's regularised constant
feature (``-B 1``), each at LIBLINEAR's default tolerance ``-e 0.1`` and at a
tight one ``-e 1e-6``. The output is parsed: ``optimization finished, #iter =
N``, ``Objective value = v`` and, if present, ``WARNING: reaching max number
of iterations`` (LIBLINEAR stops after 1000 passes; the objective is then not
converged to the tolerance asked).

Conventions and the conversion (see src/formulation.rs)
-------------------------------------------------------
LIBLINEAR's dual solvers (solve_l2r_l1l2_svc in linear.cpp) print
``v/2`` with ``v = sum_i alpha_i^2 diag_i + |w|^2 - 2 sum_i alpha_i``, i.e. the
*minimisation* form ``f(alpha) = 1/2 |w|^2 + 1/2 sum diag_i alpha_i^2 -
sum alpha_i``, with ``diag_i = 0`` (L1 loss, ``0 <= alpha_i <= C``) or
``diag_i = 0.5 / C_liblinear`` (L2 loss, ``alpha_i >= 0``). Our dual
objective is the maximisation form, so

    our dual objective = -(LIBLINEAR's printed objective value).

LIBLINEAR's L2 loss is ``C sum xi^2`` while ours is ``(C/2) sum xi^2``, so
``C_ours = 2 * C_liblinear`` (then ``1/C_ours = 0.5/C_liblinear`` and the two
QPs are identical); for the L1 loss ``C_ours = C_liblinear``. ``-B 1`` appends
a constant feature 1 whose weight is regularised: our ``LinearBias::
RegularizedFeature { value: 1.0 }``; ``-B -1`` is our ``LinearBias::None``.
LIBLINEAR prints the objective with ``%lf`` (6 decimals), stored as printed
(``printed_decimals``).

How to run
----------
From the repository root::

    python3 scripts/liblinear_fixtures.py     # writes tests/fixtures/liblinear.json

Needs Python 3 (standard library only) and ``liblinear-train`` on PATH
(Debian/Ubuntu: ``apt-get install liblinear-tools``; 2.3.0+dfsg-5 was used).
The output is stable: keys sorted, no timings, floats as parsed.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

DATASETS = ["datasets/heart_scale", "datasets/a1a"]
SOLVERS = [(3, "l1", 1.0), (1, "l2", 0.5)]  # (-s, our loss, C_liblinear)
BIASES = [-1.0, 1.0]
EPS = [0.1, 1e-6]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def liblinear_version():
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "liblinear-tools"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(dataset, solver, c, bias, eps, model):
    cmd = ["liblinear-train", "-s", str(solver), "-c", repr(c), "-e", repr(eps),
           "-B", repr(bias), dataset, model]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    objs = re.findall(r"Objective value = (\S+)", out)
    iters = re.findall(r"#iter = (\d+)", out)
    if len(objs) != 1 or len(iters) != 1:
        sys.exit(f"unexpected output of {' '.join(cmd)}:\n{out}")
    return cmd, float(objs[0]), int(iters[0]), "reaching max number of iterations" in out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        for dataset in DATASETS:
            digest = sha256(dataset)
            for solver, loss, c in SOLVERS:
                for bias in BIASES:
                    for eps in EPS:
                        cmd, obj, iters, capped = run(dataset, solver, c, bias, eps, model)
                        cmd[-1] = "MODEL"
                        entries.append({
                            "dataset": dataset,
                            "sha256": digest,
                            "command": " ".join(cmd),
                            "solver": solver,
                            "loss": loss,
                            "c_liblinear": c,
                            "c_ours": 2.0 * c if loss == "l2" else c,
                            "bias_b": bias,
                            "eps": eps,
                            "objective_printed": obj,
                            "printed_decimals": 6,
                            "dual_objective": -obj,
                            "iterations": iters,
                            "reached_max_iterations": capped,
                        })
                        print(f"{' '.join(cmd)}: obj {obj} iter {iters}"
                              f"{' (max iter)' if capped else ''}")
    out = {"liblinear_version": liblinear_version(), "entries": entries}
    path = os.path.join("tests", "fixtures", "liblinear.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
