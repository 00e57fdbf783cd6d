#!/usr/bin/env bash
# Builds the Lambda functions as arm64 (Graviton) zips for provided.al2023, the same artifacts
# `sam build` makes through cargo-lambda, and prints their sizes.
#
#   scripts/package.sh            -> $CARGO_TARGET_DIR/lambda/<function>/bootstrap.zip
#
# Installs cargo-lambda and zig (from PyPI, into .venv at the repository root) and the
# aarch64 Rust target when they are missing. zig cross-links, so no aarch64 gcc is needed.
set -euo pipefail

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
FUNCTIONS=(webhook-intake context-enricher decision-engine uem-executor approval-callback sweeper license-reclaimer)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
have() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }
if [ "$(have cargo-lambda)" != "$CARGO_LAMBDA_VERSION" ] || [ "$(have ziglang)" != "$ZIGLANG_VERSION" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
fi
export PATH="$venv/bin:$PATH"
rustup target add aarch64-unknown-linux-gnu >/dev/null

target_dir="${CARGO_TARGET_DIR:-$root/target}"
# A stale bootstrap from another architecture would otherwise be zipped again.
rm -rf "$target_dir/lambda"

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
cargo lambda build --release --arm64 --output-format zip "${packages[@]}"

echo
printf '%-20s %12s\n' function "zip bytes"
for f in "${FUNCTIONS[@]}"; do
    zip="$target_dir/lambda/$f/bootstrap.zip"
    if [ ! -f "$zip" ]; then
        echo "missing $zip" >&2
        exit 1
    fi
    printf '%-20s %12s\n' "$f" "$(stat -c %s "$zip")"
done
