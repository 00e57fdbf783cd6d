#!/usr/bin/env bash
# Lints infra/template.yaml with cfn-lint and checkov, each finding an error (non-zero exit).
# The linters live in their own venv (checkov pins old boto3/botocore, which must not leak into
# the moto venv at .venv). Override its place with LOADOUT_LINT_VENV.
#
# cfn-lint no longer runs the SAM translator, so it misses mistakes inside
# AWS::Serverless::Function (runtime, architecture, FunctionResponseTypes on SQS events). So the
# template is also translated to plain CloudFormation with aws-sam-translator (offline: local code
# stands in for an S3 object, as after `sam package`) and that output is linted too.
# shared/tests/infra_template.rs checks what no linter knows (functions vs packages, env vars).
set -euo pipefail

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
SAM_TRANSLATOR_VERSION=1.115.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LOADOUT_LINT_VENV:-/var/tmp/loadout-lint-venv}"
template="$root/infra/template.yaml"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
have() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }
if [ "$(have cfn-lint)" != "$CFN_LINT_VERSION" ] || [ "$(have checkov)" != "$CHECKOV_VERSION" ] \
    || [ "$(have aws-sam-translator)" != "$SAM_TRANSLATOR_VERSION" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" \
        "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
translated="$work/template.cfn.json"

status=0
echo "== cfn-lint $CFN_LINT_VERSION (SAM template)"
"$venv/bin/cfn-lint" "$template" || status=1
echo "== checkov $CHECKOV_VERSION (SAM template)"
# --skip-download: no network to the Prisma Cloud API; skips are justified in the template.
"$venv/bin/checkov" -f "$template" --framework cloudformation --compact --quiet --skip-download || status=1

echo "== aws-sam-translator $SAM_TRANSLATOR_VERSION -> plain CloudFormation"
# No AWS call is made: the region is only needed to resolve pseudo parameters, and explicit
# roles mean no managed policy has to be looked up.
if AWS_DEFAULT_REGION=us-east-1 "$venv/bin/python" - "$template" "$translated" <<'PY'
import json
import sys

from cfnlint.decode import decode
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    def load(self):
        return {}


template, problems = decode(sys.argv[1])
if problems:
    for problem in problems:
        print(problem)
    sys.exit(1)
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties") or {}
    if resource.get("Type") == "AWS::Serverless::Function":
        props["CodeUri"] = "s3://loadout-artifacts/bootstrap.zip"
try:
    out = transform(template, {}, NoManagedPolicies())
except InvalidDocumentException as e:
    for cause in e.causes:
        print("SAM:", cause.message)
    sys.exit(1)
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1, default=str)
print(f"{len(out['Resources'])} resources")
PY
then
    echo "== cfn-lint $CFN_LINT_VERSION (translated)"
    "$venv/bin/cfn-lint" "$translated" || status=1
    echo "== checkov $CHECKOV_VERSION (translated)"
    "$venv/bin/checkov" -f "$translated" --framework cloudformation --compact --quiet --skip-download || status=1
else
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "infra/template.yaml: no findings"
fi
exit "$status"
