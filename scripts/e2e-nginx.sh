#!/usr/bin/env bash
# Proxy mode with a real nginx in front: nginx terminates the card's mutual
# TLS and passes the certificate as $ssl_client_escaped_cert; cnsgate, told
# to trust nginx's address (proxy.header: nginx), judges the card from that
# header, and a header forged by the client never gets through.
# Usage: scripts/e2e-nginx.sh [path/to/cnsgate]
set -euo pipefail
bin=$(realpath "${1:-bin/cnsgate}")
if ! command -v nginx >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "e2e-nginx: nginx is required under CI (apt-get install -y nginx-light)" >&2; exit 1; fi
  echo "e2e-nginx: skipped: nginx not installed (apt-get install -y nginx-light)"; exit 0
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
used=()
pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    port_free "$p" && [[ ! " ${used[*]} " =~ " $p " ]] && { used+=("$p"); echo "$p"; return; }
  done
}
pub=$(pick_port); cns=$(pick_port); adm=$(pick_port); ngx=$(pick_port)

D="$work/demo"
"$bin" demo --prepare --dir "$D" --public "127.0.0.1:$pub" --cns "127.0.0.1:$cns" --admin "127.0.0.1:$adm" >/dev/null
# The gateway behind nginx: the card origin is nginx's; only nginx's address
# (loopback here) is trusted to pass a certificate; revocation is not what
# this test is about.
sed -e "s|^cns_origin: .*|cns_origin: https://127.0.0.1:$ngx|" -e "s|mode: crl_then_ocsp|mode: none|" \
  "$D/config.yaml" > "$work/cnsgate.yaml"
printf 'proxy:\n  trusted_cidrs: ["127.0.0.1/32"]\n  header: nginx\n' >> "$work/cnsgate.yaml"
"$bin" serve --config "$work/cnsgate.yaml" >"$work/cnsgate.log" 2>&1 &
pids+=($!)

mkdir -p "$work/nginx/tmp"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp; uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$ngx ssl;
    ssl_certificate     $D/tls/server.crt;
    ssl_certificate_key $D/tls/server.key;
    ssl_protocols TLSv1.2;
    # Ask for the card; cnsgate validates it.
    ssl_verify_client optional_no_ca;
    # No resumption, no keep-alive: every login is a handshake the card
    # signs (deploy/nginx/cnsgate-cns.conf).
    ssl_session_tickets off;
    ssl_session_cache   off;
    keepalive_timeout   0;
    location / {
      proxy_pass https://127.0.0.1:$cns;
      proxy_ssl_trusted_certificate $D/tls/ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_set_header Host \$host:\$server_port;
      # The card, and nothing the client sent under these names.
      proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Chain "";
      proxy_set_header Client-Cert "";
      proxy_set_header Client-Cert-Chain "";
      proxy_set_header X-Forwarded-Client-Cert "";
    }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)

# Wait until cnsgate is ready and nginx accepts connections.
for i in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$adm/readyz" >/dev/null 2>&1 && ! port_free "$ngx"; then break; fi
  [ "$i" -eq 100 ] && { echo "e2e-nginx: cnsgate or nginx did not start"; cat "$work/cnsgate.log" "$work/nginx/error.log"; exit 1; }
  sleep 0.1
done

passed=0; failed=0
check() {
  if grep -q -- "$3" "$2"; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1: no \"$3\" in:"; sed 's/^/     /' "$2" | head -30
       echo "     cnsgate log:"; tail -5 "$work/cnsgate.log" | sed 's/^/     /'; fi
}
NGX="https://127.0.0.1:$ngx"
card() { echo --cert "$D/cards/$1-fullchain.crt" --key "$D/cards/$1.key"; }
C=(curl -sS --cacert "$D/tls/ca.crt")

"${C[@]}" $(card citizen) -o "$work/check" "$NGX/cns/check"
check "the card reaches cnsgate through nginx" "$work/check" '"fiscal_code":"RSSMRA85T10A562S"'

"${C[@]}" -H "X-SSL-Client-Cert: $(sed 's/ /%20/g' "$D/cards/citizen.crt" | tr -d '\n')" \
  -H "Client-Cert: :AAAA:" -o "$work/forged" "$NGX/cns/check"
check "a header forged by a client without a card is not believed" "$work/forged" '"reason":"no_certificate"'

"${C[@]}" $(card operator) -H "X-SSL-Client-Cert: forged" -o "$work/own" "$NGX/cns/check"
check "a client with a card is judged by its own card only" "$work/own" '"card_type":"operator"'

"${C[@]}" $(card citizen) -c "$work/jar" -b "$work/jar" -L -o "$work/welcome" "$NGX/cns/login"
check "a full login through nginx lands on the welcome page" "$work/welcome" "RSSMRA85T10A562S"

# A shared PC after "Esci": the browser offers the TLS session of the
# card's handshake, with no card in the reader. nginx must not resume it,
# and cnsgate must see no certificate.
s_client() { printf 'GET /cns/login HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n' "$ngx" | timeout 20 openssl s_client -connect "127.0.0.1:$ngx" -CAfile "$D/tls/ca.crt" -tls1_2 -ign_eof "$@" 2>&1; }
s_client -cert "$D/cards/citizen-fullchain.crt" -key "$D/cards/citizen.key" -sess_out "$work/tls.sess" >"$work/sess1" || true
check "a login with the card through nginx" "$work/sess1" "HTTP/1.1 303"
check "nginx closes the connection after the answer" "$work/sess1" "Connection: close"
if [ -f "$work/tls.sess" ]; then s_client -sess_in "$work/tls.sess" >"$work/sess2" || true
else s_client >"$work/sess2" || true; fi
check "nginx starts a new TLS session instead of resuming the card's" "$work/sess2" "^New, "
if grep -q "^Reused, " "$work/sess2"; then failed=$((failed + 1)); echo "FAIL nginx resumed the card's TLS session"; fi
check "the login without the card is refused" "$work/sess2" "HTTP/1.1 403"

"${C[@]}" $(card citizen) -H "X-SSL-Client-Cert: forged" -o "$work/direct" "https://127.0.0.1:$cns/cns/check"
check "from the trusted address, the header rules over the TLS connection" "$work/direct" '"reason":"malformed_certificate"'

echo "e2e-nginx: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
