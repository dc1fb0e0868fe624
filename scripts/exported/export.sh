#!/usr/bin/env bash
# Exports the models of export.py into OUT, with the pinned packages of
# requirements.txt in a virtual environment cached beside the ONNX Runtime
# library ($XDG_CACHE_HOME/infergate, else ~/.cache/infergate), one per
# version of the requirements. Exit status 3 (and a message naming the
# package) when PyPI cannot be reached: the tests that need the models skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: export.sh OUT}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/infergate"
key=$(sha256sum "$here/requirements.txt" | cut -c1-16)
venv="$cache/python-exported-$key"
python=${PYTHON:-python3}
if [ ! -x "$venv/done" ]; then
	rm -rf "$venv"
	"$python" -m venv "$venv"
	log=$(mktemp)
	if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >"$log" 2>&1; then
		cat "$log" >&2
		pkg=$(grep -oE "(from versions|No matching distribution found for|Could not find a version that satisfies the requirement) [^ ]+" "$log" | head -1 | awk '{print $NF}')
		rm -rf "$venv" "$log"
		echo "export.sh: cannot install ${pkg:-the pinned packages} from PyPI (scripts/exported/requirements.txt)" >&2
		exit 3
	fi
	rm -f "$log"
	printf '#!/bin/sh\n' > "$venv/done" && chmod +x "$venv/done"
fi
"$venv/bin/python" "$here/export.py" "$out"
