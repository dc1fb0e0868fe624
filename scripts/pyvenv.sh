#!/usr/bin/env bash
# pyvenv.sh REQUIREMENTS NAME: prints the path of a virtual environment
# holding the pinned packages of REQUIREMENTS, made on first use and cached
# beside the ONNX Runtime library ($XDG_CACHE_HOME/infergate, else
# ~/.cache/infergate) as python-NAME-<hash of REQUIREMENTS>. Exit status 3
# (and a message naming the package) when PyPI cannot be reached, so that
# the tests that need it skip. PYTHON picks the interpreter (python3).
set -euo pipefail
req=${1:?usage: pyvenv.sh REQUIREMENTS NAME}
name=${2:?usage: pyvenv.sh REQUIREMENTS NAME}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/infergate"
key=$(sha256sum "$req" | cut -c1-16)
venv="$cache/python-$name-$key"
python=${PYTHON:-python3}
if [ ! -x "$venv/done" ]; then
	rm -rf "$venv"
	mkdir -p "$cache"
	"$python" -m venv "$venv" >&2
	log=$(mktemp)
	if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >"$log" 2>&1; then
		cat "$log" >&2
		pkg=$(grep -oE "(from versions|No matching distribution found for|Could not find a version that satisfies the requirement) [^ ]+" "$log" | head -1 | awk '{print $NF}')
		rm -rf "$venv" "$log"
		echo "pyvenv.sh: cannot install ${pkg:-the pinned packages} from PyPI ($req)" >&2
		exit 3
	fi
	rm -f "$log"
	printf '#!/bin/sh\n' >"$venv/done" && chmod +x "$venv/done"
fi
echo "$venv"
