#!/usr/bin/env python3
"""Test accuracy and training time of the multiclass methods of svm-dual
(one-vs-one, one-vs-rest, Crammer-Singer, Weston-Watkins; RBF and linear
kernels) next to svm-train (one-vs-one) and liblinear-train (-s 4
Crammer-Singer, -s 3 one-vs-rest L1-loss), printed as a Markdown table.

All runs use C = 1, the default tolerance of each program (svm-dual --tol
1e-3, svm-train -e 0.001, liblinear-train's defaults), no bias for
liblinear (-B -1) and gamma = 1/number of features for RBF. "train s" is
the wall time of the training command (svm-dual: the report's
timings_seconds.solve; peers: the whole process). Every run has a time
limit (--timeout, default 600 s); a run that hits it is marked.

    cargo build --release
    python3 scripts/multiclass_table.py [--sets svmguide4,pendigits,news20]
        [--kernels rbf,linear] [--skip-libsvm] [--skip-liblinear] [--timeout S]
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "svm-dual")


def path_of(name):
    local = os.path.join(ROOT, "datasets", name)
    return local if os.path.exists(local) else os.path.join(SHARED, name)


def labels(path):
    with open(path) as f:
        return [float(l.split()[0]) for l in f if l.strip()]


def accuracy(pred_file, truth):
    with open(pred_file) as f:
        pred = [float(l.split()[0]) for l in f if l.strip()]
    return sum(p == t for p, t in zip(pred, truth)) / len(truth)


def run(cmd, timeout):
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def ours(train, test, method, kernel, timeout, tmp):
    model = os.path.join(tmp, "m.json")
    report = os.path.join(tmp, "r.json")
    pred = os.path.join(tmp, "p.txt")
    cmd = [BIN, "solve", "--data", train, "--multiclass", method, "--kernel", kernel,
           "--model", model, "--report", report, "-q", "--time-limit", str(timeout)]
    if method in ("ovo", "ovr"):
        cmd += ["--loss", "l1"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        return None, None, proc.stderr.strip()
    with open(report) as f:
        r = json.load(f)
    secs = r["timings_seconds"]["solve"]
    subprocess.run([BIN, "predict", "--model", model, "--data", test, "--output", pred, "-q"],
                   check=True, capture_output=True)
    note = "" if r["status"] == "converged" else r["status"]
    return accuracy(pred, labels(test)), secs, note


def libsvm(train, test, kernel, timeout, tmp):
    model = os.path.join(tmp, "libsvm.model")
    pred = os.path.join(tmp, "libsvm.pred")
    secs = run(["svm-train", "-s", "0", "-t", "2" if kernel == "rbf" else "0", "-c", "1",
                train, model], timeout)
    if secs is None:
        return None, None, "timeout"
    subprocess.run(["svm-predict", test, model, pred], check=True, capture_output=True)
    return accuracy(pred, labels(test)), secs, ""


def liblinear(train, test, solver, timeout, tmp):
    model = os.path.join(tmp, "ll.model")
    pred = os.path.join(tmp, "ll.pred")
    secs = run(["liblinear-train", "-s", solver, "-c", "1", "-B", "-1", train, model], timeout)
    if secs is None:
        return None, None, "timeout"
    subprocess.run(["liblinear-predict", test, model, pred], check=True, capture_output=True)
    return accuracy(pred, labels(test)), secs, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="svmguide4,pendigits,news20")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--kernels", default=None,
                    help="comma-separated kernels for every set (default: rbf,linear, "
                         "and linear only, without svm-train, for news20, whose RBF "
                         "and LIBSVM runs take long)")
    ap.add_argument("--skip-libsvm", action="store_true", help="do not run svm-train")
    ap.add_argument("--skip-liblinear", action="store_true", help="do not run liblinear-train")
    args = ap.parse_args()
    rows = []
    for name in args.sets.split(","):
        train, test = path_of(name), path_of(name + ".t")
        if args.kernels:
            kernels = args.kernels.split(",")
        else:
            kernels = ["linear"] if name == "news20" else ["rbf", "linear"]
        with tempfile.TemporaryDirectory() as tmp:
            for kernel in kernels:
                for method in ["ovo", "ovr", "crammer-singer", "weston-watkins"]:
                    acc, secs, note = ours(train, test, method, kernel, args.timeout, tmp)
                    rows.append((name, kernel, f"svm-dual {method}", acc, secs, note))
                    print(rows[-1], flush=True)
                # svm-train on news20 only when the kernels were chosen.
                if not args.skip_libsvm and (args.kernels or name != "news20"):
                    acc, secs, note = libsvm(train, test, kernel, args.timeout, tmp)
                    rows.append((name, kernel, "svm-train (ovo)", acc, secs, note))
                    print(rows[-1], flush=True)
            linear_peers = [] if args.skip_liblinear or "linear" not in kernels else [
                ("4", "liblinear-train -s 4 (CS)"), ("3", "liblinear-train -s 3 (ovr)")]
            for solver, label in linear_peers:
                acc, secs, note = liblinear(train, test, solver, args.timeout, tmp)
                rows.append((name, "linear", label, acc, secs, note))
                print(rows[-1], flush=True)
    print()
    print("| data (train → test) | kernel | method | test accuracy | train s | note |")
    print("|---|---|---|---|---|---|")
    for name, kernel, method, acc, secs, note in rows:
        a = "—" if acc is None else f"{100 * acc:.2f}%"
        s = "—" if secs is None else f"{secs:.2f}"
        print(f"| {name} → {name}.t | {kernel} | {method} | {a} | {s} | {note} |")


if __name__ == "__main__":
    main()
