#!/usr/bin/env bash
# Lints infra/template.yaml with cfn-lint and checkov, each finding an error (non-zero exit).
# The linters live in their own venv (checkov pins old boto3/botocore, which must not leak into
# the moto venv at .venv). Override its place with LOADOUT_LINT_VENV.
#
# cfn-lint no longer runs the SAM translator, so it misses mistakes inside
# AWS::Serverless::Function (runtime, architecture, FunctionResponseTypes on SQS events);
# shared/tests/infra_template.rs checks those.
set -euo pipefail

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LOADOUT_LINT_VENV:-/var/tmp/loadout-lint-venv}"
template="$root/infra/template.yaml"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
have() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }
if [ "$(have cfn-lint)" != "$CFN_LINT_VERSION" ] || [ "$(have checkov)" != "$CHECKOV_VERSION" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
fi

status=0
echo "== cfn-lint $CFN_LINT_VERSION"
"$venv/bin/cfn-lint" "$template" || status=1
echo "== checkov $CHECKOV_VERSION"
# --skip-download: no network to the Prisma Cloud API; skips are justified in the template.
"$venv/bin/checkov" -f "$template" --framework cloudformation --compact --quiet --skip-download || status=1
if [ "$status" -eq 0 ]; then
    echo "infra/template.yaml: no findings"
fi
exit "$status"
