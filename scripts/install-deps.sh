#!/usr/bin/env bash
# Installs the Debian packages tern needs, by what it is for. Idempotent and
# quiet when everything is already there.
# Usage: scripts/install-deps.sh [--build] [--demo] [--test] [--bench]
#   --build  what compiling needs: the compiler, the libraries, protoc-c, and
#            Open MPI (mpicc builds libtern's MPI plugin and the MPI tests)
#   --demo   --build's, and python3 (the demo's stand-in metadata service)
#   --test   --demo's, and what the tests run against: clang with libFuzzer,
#            CUnit, SLURM with munge (a real slurmctld/slurmd), Prometheus,
#            Debian's CPU build of PyTorch (a DDP script trained under tern),
#            iproute2 and procps
#   --bench  --test's (the benchmarks' peers are SLURM, Open MPI and dd)
# With no option: --test, everything.
set -eu

build="build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
       libhwloc-dev hwloc libsqlite3-dev libjansson-dev libxxhash-dev libcurl4-openssl-dev
       libmicrohttpd-dev libsodium-dev libcunit1-dev openmpi-bin libopenmpi-dev"
demo="python3"
test="clang libclang-rt-14-dev sqlite3 procps iproute2 python3-pip python3-venv slurm-wlm
      munge prometheus python3-torch"

want=""
for arg in "${@:---test}"; do
    case "$arg" in
    --build) want="$want $build" ;;
    --demo) want="$want $build $demo" ;;
    --test|--bench) want="$want $build $demo $test" ;;
    *) echo "install-deps: unknown option '$arg' (--build, --demo, --test or --bench)" >&2
       exit 2 ;;
    esac
done

missing=""
for p in $want; do
    case " $missing " in *" $p "*) continue ;; esac
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
