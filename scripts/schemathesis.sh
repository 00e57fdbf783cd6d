#!/usr/bin/env bash
# Property-based checks of a running Loadout HTTP server against openapi.yaml.
#
#   scripts/schemathesis.sh BASE_URL [extra schemathesis options...]
#   e.g. scripts/schemathesis.sh http://127.0.0.1:8080 --max-time 120
#
# Fails on any 5xx and on any response whose status code, content type or body the document does
# not allow. Schemathesis comes from PyPI, pinned, in a venv of its own (created on first use;
# SCHEMATHESIS_VENV overrides where). Nothing here needs credentials: unauthenticated and
# malformed requests must still get documented 4xx answers. A server without the webhook secrets
# configured answers 503 not_configured, which the document allows but which hides the other
# checks: start it with the LOADOUT_* webhook secrets set (local mode generates them).
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCHEMATHESIS_VENV:-/var/tmp/loadout-venv-schemathesis}"

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BASE_URL [schemathesis run options...]" >&2
  exit 2
fi
BASE_URL="$1"
shift
EXTRA=("$@")

if [[ ! -x "$VENV/bin/schemathesis" ]] \
  || [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
fi

# Wait briefly for the server, so the script can be started right after it.
for _ in $(seq 1 50); do
  if curl -fsS -o /dev/null "${BASE_URL%/}/healthz" 2>/dev/null; then break; fi
  sleep 0.2
done

run() {
  "$VENV/bin/schemathesis" run "$ROOT/openapi.yaml" \
    --url "$BASE_URL" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" \
    --seed "${SCHEMATHESIS_SEED:-7}" \
    "$@"
}

status=0
echo "== every route, without credentials"
run "${EXTRA[@]}" || status=1
# With the server's own secrets in the environment, also fuzz past authentication, where the
# bodies are parsed (Graph's clientState and the HMAC schemes cannot be met by generated data).
if [[ -n "${LOADOUT_OKTA_AUTHORIZATION:-}" ]]; then
  echo "== /webhooks/okta with the Authorization secret"
  run --include-path /webhooks/okta -H "Authorization: ${LOADOUT_OKTA_AUTHORIZATION}" "${EXTRA[@]}" || status=1
fi
if [[ -n "${LOADOUT_UEM_EVENTS_BASIC:-}" ]]; then
  echo "== /webhooks/uem with Basic credentials"
  run --include-path /webhooks/uem --auth "${LOADOUT_UEM_EVENTS_BASIC}" "${EXTRA[@]}" || status=1
fi
if [[ -n "${LOADOUT_SERVICENOW_CALLBACK_TOKEN:-}" ]]; then
  echo "== /approvals/servicenow with the callback token"
  run --include-path /approvals/servicenow -H "Authorization: Bearer ${LOADOUT_SERVICENOW_CALLBACK_TOKEN}" "${EXTRA[@]}" || status=1
fi
exit "$status"
