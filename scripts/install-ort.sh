#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that infergate loads at run time.
#
# ONNX Runtime is not a Go module, so it comes from the npm registry's
# onnxruntime-node package (which ships the CPU build for linux/x64), pinned by
# version and by the sha256 of both the package and the library. It lands in a
# per-user cache folder so that every clone of the project reuses it.
# See docs/adr/0002-onnx-runtime-library.md.
set -euo pipefail

ORT_VERSION=1.30.0
PKG_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
LIB_IN_PKG=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

cache="${XDG_CACHE_HOME:-$HOME/.cache}/infergate"
dest="$cache/onnxruntime-$ORT_VERSION"
lib="$dest/libonnxruntime.so.1"

if [ -f "$lib" ] && echo "$LIB_SHA256  $lib" | sha256sum --check --status; then
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) echo "install-ort: only linux/x86_64 is packaged; set INFERGATE_ORT_LIB to your own libonnxruntime build" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "install-ort: npm is needed to fetch onnxruntime-node@$ORT_VERSION (apt-get install npm), or set INFERGATE_ORT_LIB" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-ort: fetching onnxruntime-node@$ORT_VERSION from the npm registry" >&2
(cd "$work" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
pkg="$work/onnxruntime-node-$ORT_VERSION.tgz"
echo "$PKG_SHA256  $pkg" | sha256sum --check --status || { echo "install-ort: checksum mismatch for $pkg" >&2; exit 1; }
tar -xzf "$pkg" -C "$work" "$LIB_IN_PKG"
echo "$LIB_SHA256  $work/$LIB_IN_PKG" | sha256sum --check --status || { echo "install-ort: checksum mismatch for libonnxruntime.so.1" >&2; exit 1; }
mkdir -p "$dest"
# Rename into place so that a reader never sees a half-written library.
cp "$work/$LIB_IN_PKG" "$lib.tmp.$$"
mv "$lib.tmp.$$" "$lib"
echo "install-ort: installed $lib" >&2
