#!/usr/bin/env bash
# Install everything (idempotent), then run tlslab's main job on the default
# scenario: the walkthrough's TLS 1.2 RSA handshake between OpenSSL client and
# server, checked against its expectations, then shown packet by packet from
# the client's capture with each walkthrough step labelled.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/provision.sh"
cd "$here"
"$here/.venv/bin/tlslab" run scenarios/tls12-rsa.yaml -k client=openssl "$@"
run=$(ls -td runs/*-tls12-rsa-client=openssl | head -n 1)
"$here/.venv/bin/tlslab" inspect "$run" --host client
echo "run directory: $run (open $run/report.html in a browser)"
