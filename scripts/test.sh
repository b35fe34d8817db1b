#!/usr/bin/env bash
# Install everything (idempotent), then run the whole test suite: unit tests
# (no root needed), integration tests that bring up real labs (root), and
# every scenario in scenarios/ (one test per matrix cell).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/provision.sh"
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider tests scenarios "$@"
