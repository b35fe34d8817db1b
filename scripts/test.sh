#!/usr/bin/env bash
# Install everything (idempotent), then run the whole test suite: unit tests
# (no root needed) and integration tests that bring up real labs (root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/provision.sh"
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
