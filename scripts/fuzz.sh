#!/usr/bin/env bash
# Fuzzes the data and model readers (fuzz/, cargo-fuzz + libFuzzer) for a
# fixed number of iterations per target.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
#
# RUNS defaults to 1000000 (libFuzzer's -runs); TARGET defaults to all of
# libsvm_data csv_data model_libsvm model_json. Each target runs on
# fuzz/corpus/TARGET (kept between runs, not in git) plus seeds made here
# from datasets/ and tests/fixtures (fuzz/seeds/TARGET, rebuilt each run).
# A crash, panic, timeout (-timeout=10 s) or allocation over -rss_limit_mb
# stops the run with the input saved in fuzz/artifacts/TARGET/ and a
# non-zero exit; each such input should become a regression test in
# tests/data_loading.rs or tests/model_io.rs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler (for
# libFuzzer). cargo-fuzz passes nightly-only flags (-Zsanitizer=address,
# sanitizer coverage); on a stable toolchain RUSTC_BOOTSTRAP=1 lets rustc
# accept them, which this script sets. fuzz/ is its own workspace, excluded
# from the root one, so `cargo build/test --workspace` and CI never build it.
#
# Environment: FUZZ_TARGET_DIR (default fuzz/target), FUZZ_MAX_LEN (default
# 4096 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-1000000}
shift || true
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=(libsvm_data csv_data model_libsvm model_json)
fi
TARGET_DIR=${FUZZ_TARGET_DIR:-fuzz/target}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
# Only for the cargo-fuzz commands: set globally it would change every
# crate's fingerprint and rebuild the ordinary release build too.
fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
}

fuzz build --release --debug-assertions --target-dir "$TARGET_DIR"

# ---- Seeds.
SEEDS=fuzz/seeds
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{libsvm_data,csv_data,model_libsvm,model_json}

# LIBSVM data: the first 30 lines of every shipped dataset, plus the quirks
# the reader accepts (CRLF, BOM, comments, tabs, no final newline).
for f in datasets/*; do
    case "$f" in *.md) continue ;; esac
    head -n 30 "$f" >"$SEEDS/libsvm_data/$(basename "$f")"
done
printf '\xef\xbb\xbf# comment\r\n+1 1:0.5 3:-2 # tail\r\n\n-1\t2:1e-1   4:3  \n2.000000 1:0 4:7' \
    >"$SEEDS/libsvm_data/quirks"

# CSV: the same rows made dense with a header; the first byte of a CSV
# input picks the options (see fuzz/fuzz_targets/csv_data.rs): 0x00 is
# comma, label column 0, header auto; 0x02 tab; 0x41 semicolon, label
# column 0, header absent.
to_csv() { # file delimiter
    awk -v d="$2" '
        { n[NR] = $1; for (i = 2; i <= NF; i++) { split($i, p, ":"); v[NR, p[1]] = p[2];
          if (p[1] > m) m = p[1] } }
        END { printf "y"; for (j = 1; j <= m; j++) printf "%sx%d", d, j; printf "\n";
              for (r = 1; r <= NR; r++) { printf "%s", n[r];
                for (j = 1; j <= m; j++) printf "%s%s", d, ((r, j) in v ? v[r, j] : 0);
                printf "\n" } }' "$1"
}
for f in heart_scale iris.scale australian_scale; do
    { printf '\x00'; to_csv "$SEEDS/libsvm_data/$f" ,; } >"$SEEDS/csv_data/$f.csv"
    { printf '\x02'; to_csv "$SEEDS/libsvm_data/$f" "$(printf '\t')"; } >"$SEEDS/csv_data/$f.tsv"
done
{ printf '\x41'; to_csv "$SEEDS/libsvm_data/iris.scale" ';' | tail -n +2; } >"$SEEDS/csv_data/iris.ssv"

# LIBSVM models: each svm-train fixture cut to at most 4 support vectors a
# class, with total_sv and nr_sv made consistent (multiclass ones as they
# are: the reader refuses nr_class > 2 at its line).
shrink_model() { # file
    python3 - "$1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
sv_at = lines.index("SV")
header, body = lines[:sv_at], lines[sv_at + 1:]
nr = next(l for l in header if l.startswith("nr_sv ")).split()[1:]
counts = [int(c) for c in nr]
keep, start = [], 0
for c in counts:
    keep.extend(body[start:start + min(c, 4)])
    start += c
small = [min(c, 4) for c in counts]
out = []
for l in header:
    if l.startswith("total_sv "):
        l = "total_sv %d" % sum(small)
    elif l.startswith("nr_sv "):
        l = "nr_sv " + " ".join(map(str, small))
    out.append(l)
print("\n".join(out + ["SV"] + keep))
EOF
}
for f in tests/fixtures/libsvm_models/*.model tests/fixtures/multiclass/*.model; do
    shrink_model "$f" >"$SEEDS/model_libsvm/$(basename "$f")"
done

# JSON models: written by svm-dual itself on 12-row slices, one per kernel,
# binary (heart_scale) and multiclass OvO/OvR (iris.scale).
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/svm-dual
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
head -n 12 datasets/heart_scale >"$TMP/heart"
awk 'NR % 12 == 1' datasets/iris.scale >"$TMP/iris"
for k in linear rbf poly sigmoid; do
    "$BIN" solve --data "$TMP/heart" --kernel "$k" --model "$SEEDS/model_json/heart_$k.json" \
        --quiet || [ "$?" = 3 ]
done
for s in ovo ovr; do
    "$BIN" solve --data "$TMP/iris" --multiclass "$s" --model "$SEEDS/model_json/iris_$s.json" \
        --quiet || [ "$?" = 3 ]
done
cp "$SEEDS/model_json/heart_linear.json" "$SEEDS/model_libsvm/heart_linear.json"

# ---- Runs.
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" fuzz/logs
    echo "== $t: $RUNS runs"
    status=0
    fuzz run --release --debug-assertions --target-dir "$TARGET_DIR" "$t" \
        "fuzz/corpus/$t" "$SEEDS/$t" -- \
        -runs="$RUNS" -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" >"fuzz/logs/$t.log" 2>&1 || status=$?
    grep -E '(INITED|DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|SUMMARY|panicked|Test unit written)' \
        "fuzz/logs/$t.log" || true
    if [ "$status" != 0 ]; then
        echo "$t failed (exit $status): see fuzz/logs/$t.log" >&2
        exit 1
    fi
done
