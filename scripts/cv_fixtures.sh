#!/usr/bin/env bash
# Regenerates tests/fixtures/cv.json: LIBSVM's 5-fold cross-validation
# accuracy on datasets/heart_scale (C-SVC, RBF kernel, C = 1, default
# gamma = 1/13, -e 0.001), the reference for `svm-dual cv` (tests/cv.rs).
# svm-train shuffles with the C library's rand() without seeding it, so the
# figure is reproducible on a given libc (glibc here).
# Needs svm-train (Debian package libsvm-tools) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
data=datasets/heart_scale
out=$(svm-train -s 0 -t 2 -c 1 -v 5 "$data" | tail -n 1)
# "Cross Validation Accuracy = 82.963%"
acc=$(printf '%s\n' "$out" | sed -n 's/^Cross Validation Accuracy = \([0-9.]*\)%$/\1/p')
[ -n "$acc" ] || { echo "unexpected svm-train output: $out" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' libsvm-tools 2>/dev/null || echo unknown)
python3 - "$acc" "$version" > tests/fixtures/cv.json <<'PY'
import json, sys
acc, version = float(sys.argv[1]), sys.argv[2]
print(json.dumps({
    "generator": "scripts/cv_fixtures.sh",
    "tool": "svm-train (libsvm-tools %s)" % version,
    "command": "svm-train -s 0 -t 2 -c 1 -v 5 datasets/heart_scale",
    "heart_scale_rbf_c1_cv5_accuracy_percent": acc,
}, indent=2))
PY
cat tests/fixtures/cv.json
