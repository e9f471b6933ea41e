#!/usr/bin/env python3
"""Issue 6's one-vs-one acceptance against LIBSVM, measured by running both.

For iris.scale, glass.scale, svmguide2, svmguide4 and pendigits (RBF, C = 1,
default gamma, eps 1e-3): svm-train's per-pair objective (its "obj = …"
lines; our dual objective is −obj) against the dual objective of our
certificate for the same pair (`svm-dual solve --loss l1 -C 1 --report`),
and, on svmguide4.t and pendigits.t, svm-predict with svm-train's model
against `svm-dual predict` with ours: differing rows, and how many of them
have one of our decision values within 1e-6 of 0 (a tie the two solvers may
break either way).

Not run by the tests (they never run LIBSVM; tests/multiclass.rs checks the
small sets against recorded fixtures). Needs svm-train / svm-predict on
PATH and a release build. From the repository root:
    cargo build --release && python3 scripts/ovo_vs_libsvm.py
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("SVM_DUAL", "target/release/svm-dual")
SHARED = os.environ.get("SHARED", "../shared/datasets")
SETS = [
    ("iris.scale", None),
    ("glass.scale", None),
    ("svmguide2", None),
    ("svmguide4", "svmguide4.t"),
    ("pendigits", "pendigits.t"),
]


def path(name):
    local = os.path.join("datasets", name)
    return local if os.path.exists(local) else os.path.join(SHARED, name)


def main():
    work = tempfile.mkdtemp()
    worst = 0.0
    for name, test in SETS:
        theirs = os.path.join(work, name + ".model")
        t = time.time()
        out = subprocess.run(
            ["svm-train", "-s", "0", "-t", "2", "-c", "1", "-e", "0.001", path(name), theirs],
            check=True, capture_output=True, text=True).stdout
        t_libsvm = time.time() - t
        objs = [float(m.group(1)) for m in re.finditer(r"^obj = ([^,]+),", out, re.M)]
        ours = os.path.join(work, name + ".json")
        report = os.path.join(work, name + ".report.json")
        t = time.time()
        subprocess.run([BIN, "solve", "--data", path(name), "--loss", "l1", "-C", "1",
                        "--quiet", "--model", ours, "--report", report], check=True)
        t_ours = time.time() - t
        subs = json.load(open(report))["subproblems"]
        assert len(subs) == len(objs), (name, len(subs), len(objs))
        rel = [abs(s["certificate"]["dual_objective"] + o) / max(1.0, abs(o))
               for s, o in zip(subs, objs)]
        worst = max(worst, max(rel))
        line = (f"{name}: {len(objs)} pairs, max rel. objective difference {max(rel):.2e}; "
                f"wall time svm-train {t_libsvm:.2f} s, svm-dual {t_ours:.2f} s")
        if test:
            pred_theirs = os.path.join(work, test + ".svm")
            subprocess.run(["svm-predict", path(test), theirs, pred_theirs],
                           check=True, capture_output=True)
            ours_out = subprocess.run([BIN, "predict", "--model", ours, "--data", path(test),
                                       "--decision-values"], check=True,
                                      capture_output=True, text=True).stdout
            a = [float(l) for l in open(pred_theirs)]
            rows = [l.split() for l in ours_out.splitlines()]
            differ = [i for i, (x, r) in enumerate(zip(a, rows)) if float(r[0]) != x]
            ties = [i for i in differ if any(abs(float(v)) <= 1e-6 for v in rows[i][1:])]
            line += (f"; {test}: {len(differ)} of {len(a)} predictions differ, "
                     f"{len(ties)} of them at a tie within 1e-6")
        print(line)
    print(f"worst relative objective difference: {worst:.2e} (acceptance: 1e-3)")
    return 0 if worst <= 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
