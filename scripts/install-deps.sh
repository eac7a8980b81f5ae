#!/usr/bin/env bash
# Installs every package siq needs to build, test and run its local
# OpenStack stack, from Debian's archive. Safe to run again: when everything
# is present it only says so.
set -euo pipefail

readonly PACKAGES=(
  # build
  cmake g++ make pkg-config
  libcli11-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  clang-format clang-tidy
  # siq audit: simdjson parses CADF lines at GB/s, zlib reads gzip logs
  libsimdjson-dev zlib1g-dev
  # the local stack: PostgreSQL, Keystone and Barbican served by waitress
  postgresql python3-psycopg2 python3-waitress
  python3-keystone python3-barbican barbican-common barbican-api
  # tools the tests and scripts use
  curl openssl python3-openstackclient python3-barbicanclient
  python3-aiosmtpd
  # benchmarks (scripts/bench/): timing, peak memory, JSON answers
  hyperfine time jq
)

missing() {
  local package
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
        grep -q '^install ok installed$'; then
      echo "$package"
    fi
  done
}

main() {
  local -a needed
  mapfile -t needed < <(missing)
  if ((${#needed[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages present" >&2
    return 0
  fi
  if ((EUID != 0)); then
    echo "install-deps: run as root to install: ${needed[*]}" >&2
    return 1
  fi

  echo "install-deps: installing ${needed[*]}" >&2
  # Package scripts must not start system services (Barbican's uwsgi
  # service, the system PostgreSQL cluster): dev-stack.sh runs its own.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${needed[@]}"
}

main "$@"
