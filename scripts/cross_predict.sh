#!/bin/sh
# Issue 7's model-exchange check against LIBSVM, both ways, on heart_scale,
# a1a (test file a1a.t) and pendigits (test file pendigits.t):
#   1. svm-dual solve --model-format libsvm, then svm-predict on that model
#      and svm-dual predict on it: the two prediction files are compared;
#   2. svm-train's model, then svm-predict and svm-dual predict on it.
# Prints, per dataset and direction, the number of test rows whose
# predictions differ. Needs svm-train and svm-predict on PATH (Debian:
# apt-get install libsvm-tools) and a release build; run from the
# repository root:
#     cargo build --release && sh scripts/cross_predict.sh
# Not run by the tests (they never run LIBSVM): the model-format tests in
# tests/multiclass.rs and tests/cli_predict_verify.rs use recorded fixtures.
set -eu
bin=${SVM_DUAL:-target/release/svm-dual}
shared=${SHARED:-../shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pair in "datasets/heart_scale datasets/heart_scale" \
            "datasets/a1a $shared/a1a.t" \
            "$shared/pendigits $shared/pendigits.t"; do
    set -- $pair
    train=$1 test=$2
    name=$(basename "$train")
    "$bin" solve --data "$train" --quiet --model "$work/ours.model" --model-format libsvm
    svm-predict "$test" "$work/ours.model" "$work/ours.svmpredict" > /dev/null
    "$bin" predict --model "$work/ours.model" --data "$test" --output "$work/ours.ours" > /dev/null 2>&1
    svm-train -q "$train" "$work/theirs.model"
    svm-predict "$test" "$work/theirs.model" "$work/theirs.svmpredict" > /dev/null
    "$bin" predict --model "$work/theirs.model" --data "$test" --output "$work/theirs.ours" > /dev/null 2>&1
    rows=$(wc -l < "$work/ours.ours")
    d1=$(paste "$work/ours.svmpredict" "$work/ours.ours" | awk '$1 != $2' | wc -l)
    d2=$(paste "$work/theirs.svmpredict" "$work/theirs.ours" | awk '$1 != $2' | wc -l)
    echo "$name -> $(basename "$test") ($rows rows): our model: $d1 differ; svm-train's model: $d2 differ"
done
