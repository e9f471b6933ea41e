#!/bin/sh
# Regenerates tests/fixtures/multiclass/: LIBSVM's one-vs-one reference
# values, used by tests/multiclass.rs (the tests read these files only; they
# never run LIBSVM).
#
# For each of datasets/iris.scale, svmguide4, glass.scale and svmguide2:
#   NAME.model   svm-train -s 0 -t 2 -c 1 -e 0.001 (C-SVC, RBF kernel,
#                default gamma = 1 / number of features, C = 1, eps 1e-3)
#   NAME.obj     one line per pair (i, j), i < j, in svm-train's order
#                (0,1), (0,2), …, (1,2), …: "obj rho", copied from the
#                "obj = … rho = …" lines svm-train prints (obj is the
#                minimum of ½αᵀQα − eᵀα, so our dual objective is −obj)
# and for svmguide4 only:
#   svmguide4.t.predict   svm-predict datasets/svmguide4.t svmguide4.model
#   svmguide4.t.accuracy  the "Accuracy = …" line svm-predict printed
#
# Needs svm-train and svm-predict on PATH (Debian/Ubuntu: apt-get install
# libsvm-tools; 3.24+ds-6 was used). Run from the repository root:
#     sh scripts/multiclass_fixtures.sh
set -eu
out=tests/fixtures/multiclass
mkdir -p "$out"
for name in iris.scale svmguide4 glass.scale svmguide2; do
    svm-train -s 0 -t 2 -c 1 -e 0.001 "datasets/$name" "$out/$name.model" \
        | sed -n 's/^obj = \([^,]*\), rho = \(.*\)$/\1 \2/p' > "$out/$name.obj"
done
svm-predict datasets/svmguide4.t "$out/svmguide4.model" "$out/svmguide4.t.predict" \
    > "$out/svmguide4.t.accuracy"
