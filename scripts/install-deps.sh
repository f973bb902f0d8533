#!/usr/bin/env bash
# Installs every Debian package Roost needs to build, test and run.
# Used by the README's commands, .ci/run and docker/Dockerfile (one recipe, no drift).
# Usage: scripts/install-deps.sh [build|test|runtime]   (default: test, which includes build)
set -euo pipefail
mode="${1:-test}"

build_pkgs=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libssl-dev libsqlite3-dev nlohmann-json3-dev
  libtomlplusplus-dev libargon2-dev libcrypt-dev zlib1g-dev
  libgtest-dev libgmock-dev libunbound-dev
  # libunbound.pc requires nettle.pc and hogweed.pc, which libunbound-dev does not pull in
  nettle-dev
)
test_pkgs=(
  python3 curl swaks libnet-ssleay-perl sqlite3 openssl procps fetchmail getmail6 isync chromium
  # the sanitizer suite and the libFuzzer targets (scripts/sanitize.sh, scripts/fuzz.sh) build with clang 14
  clang-14 libclang-rt-14-dev
  unbound postfix dovecot-core python3-dkim python3-dnspython python3-nacl testssl.sh iproute2
  # tests/container (run as root): podman builds docker/Dockerfile, podman-compose runs docker/compose.yaml,
  # debootstrap makes the debian:bookworm base image. Rootful podman needs no uidmap, slirp4netns or
  # fuse-overlayfs; netavark (bridge networks, with aardvark-dns for their DNS) publishes ports via iptables;
  # runc runs the containers (crun refuses hosts with the hybrid cgroup v1/v2 layout).
  podman podman-compose debootstrap debian-archive-keyring netavark aardvark-dns iptables runc
)
runtime_pkgs=(
  libssl3 libsqlite3-0 libargon2-1 libcrypt1 zlib1g libunbound8 libtomlplusplus3 openssl ca-certificates
  # setcap: docker/Dockerfile lets the unprivileged daemons bind ports below 1024 (cap_net_bind_service)
  libcap2-bin
  # online backups of roost.db (docs/docker.md)
  sqlite3
)

case "$mode" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  runtime) want=("${runtime_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|runtime]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  # Postfix (outbound delivery tests) must not configure itself as a system mailer.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
