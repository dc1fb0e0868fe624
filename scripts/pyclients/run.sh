#!/usr/bin/env bash
# Runs clients.py CASES.json with the pinned packages of requirements.txt
# (scripts/pyvenv.sh; exit status 3 when PyPI cannot be reached).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cases=${1:?usage: run.sh CASES.json}
venv=$("$here/../pyvenv.sh" "$here/requirements.txt" clients)
exec "$venv/bin/python" "$here/clients.py" "$cases"
