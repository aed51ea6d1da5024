#!/usr/bin/env bash
# Installs the Debian packages tern builds and tests with. Idempotent and quiet
# when everything is already there.  Usage: scripts/install-deps.sh [--bench]
#   (SLURM with munge, Prometheus and Debian's CPU build of PyTorch are test
#   dependencies: the tests start a real slurmctld/slurmd and a real
#   Prometheus server, and train a DDP script under tern.)
#   --bench  accepted for the benchmarks; nothing more is needed.
set -eu

pkgs="build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
      libhwloc-dev hwloc libcunit1-dev libsqlite3-dev sqlite3 libjansson-dev libxxhash-dev
      libcurl4-openssl-dev openmpi-bin libopenmpi-dev clang libclang-rt-14-dev procps iproute2
      python3 python3-pip python3-venv slurm-wlm munge libmicrohttpd-dev prometheus
      python3-torch libsodium-dev"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
