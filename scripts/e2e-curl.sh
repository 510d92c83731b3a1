#!/usr/bin/env bash
# The citizen's journey with curl as the browser, against a real cnsgate
# process (`cnsgate demo` on spare loopback ports): "Registra TS-CNS", card
# login, welcome page, "Esci", the old cookie refused, an expired card refused,
# a handoff link opened in another browser refused, HSTS.
# Usage: scripts/e2e-curl.sh [path/to/cnsgate]
set -euo pipefail
bin=$(realpath "${1:-bin/cnsgate}")
command -v curl >/dev/null || { echo "e2e-curl: curl is required (apt-get install -y curl)" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  while :; do p=$((20000 + RANDOM % 20000)); port_free "$p" && { echo "$p"; return; }; done
}
pub=$(pick_port); cns=$(pick_port); adm=$(pick_port)
while [ "$cns" = "$pub" ]; do cns=$(pick_port); done
while [ "$adm" = "$pub" ] || [ "$adm" = "$cns" ]; do adm=$(pick_port); done

"$bin" demo --dir "$work/demo" --public "127.0.0.1:$pub" --cns "127.0.0.1:$cns" --admin "127.0.0.1:$adm" --esenzioni off --cms off \
  >"$work/stdout" 2>"$work/stderr" &
pid=$!
for i in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$adm/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "e2e-curl: cnsgate exited:"; cat "$work/stderr"; exit 1; }
  [ "$i" -eq 100 ] && { echo "e2e-curl: cnsgate not ready after 10 s:"; cat "$work/stderr"; exit 1; }
  sleep 0.1
done

PUB="https://127.0.0.1:$pub"; CNS="https://127.0.0.1:$cns"; D="$work/demo"
passed=0; failed=0
check() { # name, file, expected text
  if grep -q -- "$3" "$2"; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1: no \"$3\" in:"; sed 's/^/     /' "$2" | head -40; fi
}
csrf() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$1" | head -n1; }
browser() { # card name or "", then curl arguments
  local card=$1; shift
  local args=(-sS --cacert "$D/tls/ca.crt" -c "$work/jar" -b "$work/jar")
  [ -n "$card" ] && args+=(--cert "$D/cards/$card-fullchain.crt" --key "$D/cards/$card.key")
  curl "${args[@]}" "$@"
}

browser "" -o "$work/home" "$PUB/"
check "home page offers the card login" "$work/home" "Accedi con TS/CNS"

browser unregistered -o "$work/register" "$CNS/cns/login"
check "unregistered card is offered registration" "$work/register" "Registra TS-CNS"

browser unregistered -o "$work/registered" -H "Origin: $CNS" \
  --data-urlencode "csrf=$(csrf "$work/register")" --data-urlencode "consent=yes" "$CNS/cns/register"
check "registration succeeds" "$work/registered" "Operazione correttamente eseguita"

browser unregistered -L -o "$work/welcome" "$CNS/cns/login"
check "login lands on the welcome page" "$work/welcome" "Servizi attivi"
check "welcome page shows the fiscal code" "$work/welcome" "VRDNNA90D45L219"
check "welcome page shows the name" "$work/welcome" "Anna Verdi"
cp "$work/jar" "$work/jar.before-logout"

browser "" -o "$work/loggedout" -H "Origin: $PUB" --data-urlencode "csrf=$(csrf "$work/welcome")" "$PUB/logout"
check "logout tells to remove the card" "$work/loggedout" "rimuovi la tessera"

curl -sS --cacert "$D/tls/ca.crt" -b "$work/jar.before-logout" -o "$work/stale" "$PUB/"
check "old cookie no longer opens the welcome page" "$work/stale" "Accedi con TS/CNS"

browser expired -o "$work/expired" -w '%{http_code}\n' "$CNS/cns/login" >"$work/expired.code"
check "expired card is refused with 403" "$work/expired.code" "403"
check "expired card is told why" "$work/expired" "scaduto"

browser revoked -o "$work/revoked" -w '%{http_code}\n' "$CNS/cns/login" >"$work/revoked.code"
check "card in the demo CRL is refused with 403" "$work/revoked.code" "403"
check "revoked card is told why" "$work/revoked" "revocato"

browser citizen -L -o "$work/citizen" "$CNS/cns/login"
check "registered demo citizen logs in at once" "$work/citizen" "RSSMRA85T10A562S"

# Login CSRF: the citizen's card login stops before /cns/complete; the link,
# opened in another browser (no cookies), is refused; the citizen completes.
rm -f "$work/jar"
next=$(browser citizen -o /dev/null -w '%{redirect_url}' "$CNS/cns/login")      # -> /cns/start
next=$(browser "" -o /dev/null -w '%{redirect_url}' "$next")                     # -> /cns/login?req=
link=$(browser citizen -o /dev/null -w '%{redirect_url}' "$next")                # -> /cns/complete?code=
curl -sS --cacert "$D/tls/ca.crt" -o "$work/victim" -w '%{http_code}\n' "$link" >"$work/victim.code"
check "handoff link in another browser is refused with 403" "$work/victim.code" "403"
check "the other browser is told to start again" "$work/victim" "browser diverso"
browser "" -L -o "$work/completed" "$link"
check "the browser that started the login completes" "$work/completed" "RSSMRA85T10A562S"

curl -sS --cacert "$D/tls/ca.crt" -D "$work/hsts" -o /dev/null "$PUB/"
check "public listener sends HSTS" "$work/hsts" "[Ss]trict-[Tt]ransport-[Ss]ecurity: max-age=31536000"

rm -f "$work/jar"
browser cie -L -o "$work/cie" "$CNS/cns/login"
check "CIE-profile card (root -> SUBCA1 chain) logs in" "$work/cie" "RSSGLI88E52H501"

echo "e2e-curl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
