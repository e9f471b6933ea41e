#!/usr/bin/env bash
# Regenerates tests/fixtures/a9a_smo.json: the dual objectives of our SMO
# (the kernel solver, linear kernel) on a9a at a tight tolerance, for the
# test that holds linear coordinate descent to them
# (tests/linear.rs, a9a_objectives_match_recorded_smo). SMO on a9a takes
# minutes, too long for a test, hence the fixture.
#
# Configurations: loss l1 and l2, C = 1, two bias modes:
#   true          the unregularised bias (yᵀα = 0): `--solver smo` on a9a;
#   feature       LIBLINEAR's -B 1, a constant feature 1 whose weight is
#                 regularised: `--no-bias --solver smo` on a9a with the
#                 feature 124:1 appended to every row (a9a's largest index
#                 is 123), which is that problem exactly.
# SMO stops at --tol 1e-9 (maximal KKT violation); the certificate's relative
# gap is recorded with each objective.
#
# Needs ../shared/datasets/a9a and python3 (to read the reports). Usage:
#   scripts/a9a_smo_fixture.sh
set -euo pipefail
cd "$(dirname "$0")/.."

A9A=../shared/datasets/a9a
OUT=tests/fixtures/a9a_smo.json
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/svm-dual
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
awk '{ sub(/[ \t\r]+$/, ""); print $0 " 124:1" }' "$A9A" >"$TMP/a9a_b1"

entries=()
for loss in l1 l2; do
    for mode in true feature; do
        if [ "$mode" = true ]; then
            data=$A9A
            extra=()
        else
            data=$TMP/a9a_b1
            extra=(--no-bias)
        fi
        report=$TMP/$loss-$mode.json
        start=$(date +%s)
        "$BIN" solve --data "$data" --kernel linear --solver smo --loss "$loss" -C 1 \
            --tol 1e-9 --cache-mb 1000 --threads 1 "${extra[@]}" --report "$report" --quiet
        seconds=$(($(date +%s) - start))
        entries+=("$(python3 - "$report" "$loss" "$mode" "$seconds" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["certificate"]
print(json.dumps({
    "loss": sys.argv[2],
    "bias": sys.argv[3],
    "c": 1.0,
    "smo_tol": 1e-9,
    "status": r["status"],
    "dual_objective": c["dual_objective"],
    "relative_gap": c["relative_gap"],
    "smo_seconds": int(sys.argv[4]),
}))
EOF
)")
        echo "$loss $mode: ${entries[-1]}" >&2
    done
done
{
    echo '{'
    echo '  "dataset": "../shared/datasets/a9a",'
    echo "  \"dataset_sha256\": \"$(sha256sum "$A9A" | cut -d' ' -f1)\","
    echo '  "command": "scripts/a9a_smo_fixture.sh",'
    echo '  "entries": ['
    for i in "${!entries[@]}"; do
        sep=,
        [ "$i" = $((${#entries[@]} - 1)) ] && sep=
        echo "    ${entries[$i]}$sep"
    done
    echo '  ]'
    echo '}'
} >"$OUT"
echo "wrote $OUT" >&2
