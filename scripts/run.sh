#!/usr/bin/env bash
# README command 1: install what is missing, build, create a development data folder with the demo domain
# example.test and a demo user, then run every daemon on unprivileged loopback ports in the foreground.
# Ctrl-C (or SIGTERM) stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
BUILD_DIR="${ROOST_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

DEV="${ROOST_DEV_DIR:-$PWD/.roost-dev}"
mkdir -p "$DEV"
CONFIG="$DEV/roost.toml"
if [ ! -f "$CONFIG" ]; then
  cat > "$CONFIG" <<TOML
# Development configuration written by scripts/run.sh (loopback only, unprivileged ports).
hostname = "mail.example.test"
data_dir = "$DEV/data"

[smtp]
listen = ["127.0.0.1:2525"]

[submission]
listen = ["127.0.0.1:2587"]
listen_tls = ["127.0.0.1:2465"]
plaintext_auth = "loopback"

[imap]
listen = ["127.0.0.1:2143"]
listen_tls = ["127.0.0.1:2993"]

[pop3]
listen = ["127.0.0.1:2110"]
listen_tls = ["127.0.0.1:2995"]

[admin]
listen = ["127.0.0.1:8080"]
TOML
fi
ROOST="$BUILD_DIR/cli/roost --config $CONFIG"
$ROOST config check >/dev/null
if ! $ROOST domain list | grep -qx example.test; then
  $ROOST domain add example.test >/dev/null
fi
if [ ! -f "$DEV/demo-password" ]; then
  head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DEV/demo-password"
  $ROOST user add demo@example.test --password-stdin < "$DEV/demo-password" >/dev/null
fi
# The first panel administrator: its password is printed once, when it is created (kept in admin-password).
ADMIN_NOTE="see $DEV/admin-password"
if [ ! -f "$DEV/admin-password" ]; then
  head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DEV/admin-password"
  chmod 600 "$DEV/admin-password"
  $ROOST admin add admin@example.test --password-stdin < "$DEV/admin-password" >/dev/null
  ADMIN_NOTE="$(cat "$DEV/admin-password")   (shown once; kept in $DEV/admin-password)"
fi
cat <<INFO

Roost development server (config: $CONFIG)
  demo user:   demo@example.test
  password:    $(cat "$DEV/demo-password")
  admin panel: http://127.0.0.1:8080  admin@example.test
  admin pass:  $ADMIN_NOTE
  SMTP 127.0.0.1:2525   submission 2587 (STARTTLS) / 2465 (TLS)
  IMAP 127.0.0.1:2143 / 2993 (TLS)   POP3 127.0.0.1:2110 / 2995 (TLS)   admin http://127.0.0.1:8080
  The TLS certificate is self-signed ($DEV/data/tls/cert.pem).
Press Ctrl-C to stop.

INFO
exec $ROOST up
