#!/usr/bin/env bash
# Runs every webhook fuzz target (fuzz/fuzz_targets/) for N seconds each (default 30), seeded
# with the recorded payloads of tests/fixtures/webhooks/. Exits non-zero on the first crash;
# libFuzzer leaves the crashing input under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [seconds] [target...]
#
# cargo-fuzz needs a nightly toolchain (sanitizer flags). With `rustup` and a nightly installed it
# uses `cargo +nightly`; otherwise it falls back to the active toolchain with RUSTC_BOOTSTRAP=1,
# which unlocks the same unstable flags on a stable compiler.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-30}"
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(hris bamboohr okta graph uem_events standard_webhooks_header)
fi
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/loadout-target-fuzz}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

CARGO=(cargo)
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
  CARGO=(cargo +nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

# Seeds: each fixture body behind the empty header parts the target expects (see its doc).
seed() {
  local target="$1" separators="$2" dir="$ROOT/fuzz/corpus/$1"
  shift 2
  mkdir -p "$dir"
  local file
  for file in "$@"; do
    { printf "$separators"; cat "$file"; } > "$dir/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
  done
}
F="$ROOT/tests/fixtures/webhooks"
seed hris '\0\0\0' "$F"/hris/*.json
seed bamboohr '\0\0' "$F"/bamboohr/*.json
seed okta '\0\0' "$F"/okta/*.json
seed graph '\0\0' "$F"/graph/*.json
seed uem_events '\0' "$F"/uem/*.json
# Header seeds: a timestamp, then a signature header of one, two and many entries.
mkdir -p "$ROOT/fuzz/corpus/standard_webhooks_header"
printf '1800000000\0v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' \
  > "$ROOT/fuzz/corpus/standard_webhooks_header/seed-one"
printf '1800000000\0v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,abc v2,xyz' \
  > "$ROOT/fuzz/corpus/standard_webhooks_header/seed-versions"
printf -- '-9223372036854775808\0%s' "$(printf 'v1,AAAA %.0s' $(seq 1 200))" \
  > "$ROOT/fuzz/corpus/standard_webhooks_header/seed-many"

cd "$ROOT/fuzz"
for target in "${TARGETS[@]}"; do
  echo "== $target for ${SECONDS_PER_TARGET}s"
  "${CARGO[@]}" fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1
done
