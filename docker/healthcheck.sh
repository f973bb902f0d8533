#!/bin/bash
# HEALTHCHECK of the Roost image: the daemon this container runs (PID 1: one of roost-smtpd, roost-imapd,
# roost-pop3d, roost-admin, or `roost up` running all four) answers on its first listener with its greeting
# (SMTP 220, IMAP * OK, POP3 +OK, HTTP 200 for the admin panel). The listener comes from the configuration
# in effect (`roost config get`), so ROOST_* overrides are followed. Exit 0 healthy, 1 not.
set -uo pipefail

# probe SECTION: connects to the first plain listener of SECTION (else the first TLS one) and checks the answer.
probe() {
  local section=$1 tls=0 listen host port line
  listen=$(roost config get "$section.listen") || return 1
  if [ -z "$listen" ]; then
    listen=$(roost config get "$section.listen_tls") || return 1
    tls=1
  fi
  listen=${listen%%,*}
  [ -n "$listen" ] || { echo "$section: no listener configured"; return 1; }
  host=${listen%:*} port=${listen##*:}
  case $host in
    0.0.0.0) host=127.0.0.1 ;;
    "[::]") host=::1 ;;
    \[*\]) host=${host#[} host=${host%]} ;;
  esac
  local request="" expect
  case $section in
    smtp) expect="220" request=$'QUIT\r\n' ;;
    imap) expect="* OK" request=$'a LOGOUT\r\n' ;;
    pop3) expect="+OK" request=$'QUIT\r\n' ;;
    admin) expect="HTTP/1.1 200" request=$'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' ;;
  esac
  if ((tls)); then
    [[ $host == *:* ]] && host="[$host]"
    line=$(printf '%s' "$request" | timeout 10 openssl s_client -quiet -connect "$host:$port" 2>/dev/null | head -n 1)
  else
    # The greeting comes first for SMTP, IMAP and POP3; HTTP answers the request.
    line=$(timeout 10 bash -c '
      exec 3<>"/dev/tcp/$1/$2" || exit 1
      if [ "$3" = admin ]; then printf "%s" "$4" >&3; fi
      IFS= read -r line <&3 || exit 1
      if [ "$3" != admin ]; then printf "%s" "$4" >&3; fi
      printf "%s" "$line"' probe "$host" "$port" "$section" "$request")
  fi
  line=${line%$'\r'}
  if [[ $line != "$expect"* ]]; then
    echo "$section $listen: unexpected answer '${line:0:80}'"
    return 1
  fi
  echo "$section $listen: $line"
}

read -r -d '' cmdline < <(tr '\0' ' ' </proc/1/cmdline)
set -- $cmdline
case "$(basename -- "${1:-}")" in
  roost-smtpd) probe smtp ;;
  roost-imapd) probe imap ;;
  roost-pop3d) probe pop3 ;;
  roost-admin) probe admin ;;
  roost) probe smtp && probe imap && probe pop3 && probe admin ;;
  *) echo "PID 1 is not a Roost daemon: $cmdline"; exit 1 ;;
esac
