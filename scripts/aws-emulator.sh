#!/usr/bin/env bash
# Installs the local AWS emulator (moto server) into .venv at the repository root, for the AWS
# adapter conformance tests (shared/tests/aws_conformance.rs starts and stops the server itself).
# Idempotent: does nothing when the pinned version is already there. Prints the server's path.
#
#   scripts/aws-emulator.sh            # install if needed
#   LOADOUT_MOTO_SERVER=$(scripts/aws-emulator.sh | tail -1) cargo test -p loadout --test aws_conformance
set -euo pipefail

MOTO_VERSION=5.2.5
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
if [ "$installed" != "$MOTO_VERSION" ] || [ ! -x "$venv/bin/moto_server" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
echo "$venv/bin/moto_server"
