#!/usr/bin/env bash
# Installs redis-server (Debian's package) for the tests that run the Redis
# feature store against a real server. Each test starts its own server on a
# free loopback port; nothing is left running.
#
# Without root or sudo it cannot install: it says so and exits 0, and the
# Redis tests skip naming what is missing, except under CI=true, where a
# missing redis-server fails them (and this script fails first).
set -euo pipefail

if command -v redis-server >/dev/null; then
  exit 0
fi
install=(apt-get install -y -qq --no-install-recommends redis-server)
update=(apt-get update -qq)
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    install=(sudo -n "${install[@]}")
    update=(sudo -n "${update[@]}")
  else
    msg="install-redis: redis-server is missing and there is no root or passwordless sudo to install it (apt-get install redis-server)"
    if [ "${CI:-}" = true ]; then
      echo "$msg" >&2
      exit 1
    fi
    echo "$msg; the Redis feature store tests will skip" >&2
    exit 0
  fi
fi
echo "install-redis: installing redis-server with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${update[@]}"
"${install[@]}"
command -v redis-server >/dev/null
