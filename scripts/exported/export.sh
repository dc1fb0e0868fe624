#!/usr/bin/env bash
# Exports the models of export.py into OUT, with the pinned packages of
# requirements.txt (scripts/pyvenv.sh: a cached virtual environment; exit
# status 3, and a message naming the package, when PyPI cannot be reached:
# the tests that need the models skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: export.sh OUT}
venv=$("$here/../pyvenv.sh" "$here/requirements.txt" exported)
"$venv/bin/python" "$here/export.py" "$out"
