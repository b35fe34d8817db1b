#!/usr/bin/env bash
# Install everything (idempotent), then run tlslab's main job on the default scenario.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/provision.sh"
cd "$here"
exec "$here/.venv/bin/tlslab" run scenarios/tls12-rsa.yaml -k openssl "$@"
