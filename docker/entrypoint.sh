#!/bin/bash
# Entrypoint of the Roost image (docs/docker.md). Before running its command (default `roost up`; compose.yaml
# runs one daemon per container) it
#   1. refuses ROOST_* variables that name no configuration key (the daemons read ROOST_<SECTION>_<KEY>
#      themselves, so a misspelt one would otherwise be ignored without a word) and checks the configuration;
#   2. creates data_dir, and says what to do when the volume is not writable by the roost user;
#   3. adds ROOST_FIRST_DOMAIN while the store has no domain at all;
#   4. for roost-admin and `roost up`, prints how to create the first administrator while there is none.
set -euo pipefail

say() { echo "roost-entrypoint: $*" >&2; }

# Variables of the image and of this script, not configuration keys.
allowed=" ROOST_CONFIG ROOST_FIRST_DOMAIN "
keys=$(roost config docs | grep -o '`ROOST_[A-Z0-9_]*`' | tr -d '`')
for name in $(compgen -e | grep '^ROOST_' || true); do
  [[ $allowed == *" $name "* ]] && continue
  if ! grep -qx "$name" <<<"$keys"; then
    say "unknown environment variable $name: not a configuration key (docs/configuration.md lists them)"
    exit 2
  fi
done
roost config check >/dev/null  # names the key or variable at fault

hostname=$(roost config get hostname)
if [[ $hostname != *.* ]]; then
  say "warning: hostname is '$hostname'; set ROOST_HOSTNAME to this server's DNS name (mail.example.org)"
fi

data_dir=$(roost config get data_dir)
mkdir -p "$data_dir" 2>/dev/null || true
if [ ! -w "$data_dir" ]; then
  say "data_dir $data_dir is not writable by $(id -un) (uid $(id -u)); give it to that user, e.g."
  say "  chown -R $(id -u):$(id -g) /path/of/the/host/folder"
  exit 1
fi

if [ -n "${ROOST_FIRST_DOMAIN:-}" ] && [ -z "$(roost domain list)" ]; then
  # Every container of the compose stack gets here at the same time on a fresh volume: one adds the
  # domain, the others find it there.
  if out=$(roost domain add "$ROOST_FIRST_DOMAIN" 2>&1); then
    say "added the first domain, $ROOST_FIRST_DOMAIN"
  elif ! roost domain list | grep -qxF "$ROOST_FIRST_DOMAIN"; then
    say "$out"
    exit 1
  fi
fi

case "$(basename -- "${1:-}") ${2:-}" in
  "roost-admin "* | "roost up")
    # `roost admin list` prints a header line, then one line per administrator.
    if [ "$(roost admin list | wc -l)" -le 1 ]; then
      domain="${ROOST_FIRST_DOMAIN:-example.org}"
      cat >&2 <<INFO
roost-entrypoint: there is no administrator yet. Create the first one (its password is printed once):
    docker compose exec admin roost admin add admin@$domain        (compose.yaml)
    docker exec -it CONTAINER roost admin add admin@$domain        (docker run)
  then log in to the admin panel (http://127.0.0.1:8080 with compose.yaml's defaults); docs/docker.md has
  the next steps.
INFO
    fi
    ;;
esac

exec "$@"
