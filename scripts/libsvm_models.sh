#!/bin/sh
# Regenerates tests/fixtures/libsvm_models/: reference models and
# predictions from LIBSVM's own command-line tools, used by tests/model_io.rs
# and tests/cli_predict_verify.rs (the tests read these files only; they never
# run LIBSVM).
#
# For each of datasets/heart_scale and datasets/a1a:
#   NAME.model    svm-train -s 0 -t 2 -c 1 -e 0.001 (C-SVC, RBF kernel,
#                 default gamma = 1 / number of features, C = 1, eps 1e-3)
#   NAME.predict  svm-predict NAME NAME.model: one predicted label a line,
#                 the training file used as the test file (a1a.t is 2 MB and
#                 is not copied into the repository)
#   NAME.accuracy what svm-predict printed (the "Accuracy = …" line)
# and, to test the reader on other files svm-train writes:
#   heart_scale_prob.model  the same with -b 1 (probA / probB lines; the
#                 support vectors and coefficients are those of NAME.model)
#   iris3.model   a 3-class model of datasets/iris.scale (nr_class 3, which
#                 svm-dual refuses for now)
#
# Needs svm-train and svm-predict on PATH (Debian/Ubuntu: apt-get install
# libsvm-tools; 3.24+ds-6 was used). Run from the repository root:
#     sh scripts/libsvm_models.sh
set -eu
out=tests/fixtures/libsvm_models
mkdir -p "$out"
for name in heart_scale a1a; do
    data=datasets/$name
    svm-train -s 0 -t 2 -c 1 -e 0.001 -q "$data" "$out/$name.model"
    svm-predict "$data" "$out/$name.model" "$out/$name.predict" > "$out/$name.accuracy"
done
svm-train -s 0 -t 2 -c 1 -e 0.001 -b 1 -q datasets/heart_scale "$out/heart_scale_prob.model"
svm-train -s 0 -t 2 -c 1 -e 0.001 -q datasets/iris.scale "$out/iris3.model"
echo "wrote:"
ls -l "$out"
