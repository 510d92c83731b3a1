#!/usr/bin/env bash
# Installs what `make test` needs and is missing: the Debian packages of the
# real servers and peers the tests talk to (Redis, PostgreSQL, openssl, curl,
# nginx, HAProxy, xmlsec1, pysaml2, Apache with mod_auth_mellon, Shibboleth SP and
# mod_auth_openidc, promtool, podman with runc, node/npm, Chromium with the NSS tools, SoftHSM2
# with OpenSC and OpenSSL's pkcs11 engine, python3-authlib) and the
# locked npm dependencies of the independent clients (openid-client,
# node-saml) and of the browser journey and the pages' check (playwright-core,
# axe-core). Nothing is installed that is already
# there; as root it uses apt-get, otherwise it says what to install.
# Usage: scripts/test-setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
need() { # need COMMAND-OR-PATH PACKAGE
  case $1 in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null ;;
  esac || missing+=("$2")
}

# The servers, unless the caller points the tests at servers of its own.
if [ -z "${CNSGATE_TEST_REDIS_ADDR:-}" ]; then need redis-server redis-server; fi
if [ -z "${CNSGATE_TEST_POSTGRES_DSN:-}" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
need openssl openssl
need curl curl
need nginx nginx-light
need haproxy haproxy
need xmlsec1 xmlsec1
# Debian's pysaml2, the SAML SP of idp/saml TestPySAML2ServiceProviders.
/usr/bin/python3 -c 'import saml2.client' 2>/dev/null || missing+=(python3-pysaml2)
# Apache with mod_auth_mellon, the SAML SP of idp/saml TestMellonServiceProvider.
need /usr/sbin/apache2 apache2
[ -f /usr/lib/apache2/modules/mod_auth_mellon.so ] || missing+=(libapache2-mod-auth-mellon)
# mod_auth_openidc, the OpenID Connect relying party of docs/relying-parties.md
# (cmd/cnsgate TestApacheModAuthOpenIDC), in the same Apache.
[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ] || missing+=(libapache2-mod-auth-openidc)
# Shibboleth SP (shibd and mod_shib), the SP of TestShibbolethServiceProvider.
need /usr/sbin/shibd libapache2-mod-shib
need promtool prometheus
need node nodejs
need npm npm
need /usr/bin/chromium chromium
# The container image (deploy TestImageRunsReadOnlyAsNonRoot): rootful podman on runc.
need podman podman
need runc runc
need pk12util libnss3-tools
# The card in a PKCS#11 token (cmd/cnsgate TestPKCS11CardSignsEveryLogin):
# SoftHSM2, OpenSC's pkcs11-tool and pkcs11-spy, OpenSSL's pkcs11 engine.
need softhsm2-util softhsm2
need pkcs11-tool opensc
# rsyslog, the independent collector of the audit syslog sink (idp/auditsyslog TestSinkToRsyslog).
need /usr/sbin/rsyslogd rsyslog
compgen -G '/usr/lib/*/engines-3/pkcs11.so' >/dev/null || missing+=(libengine-pkcs11-openssl)
# Authlib, the Python relying-party library (idp/oidc TestAuthlib), for
# Debian's own interpreter.
{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import authlib' 2>/dev/null; } || missing+=(python3-authlib)
# requests, the HTTP client of Authlib's OAuth2Session (idp/oidc TestAuthlibPrivateKeyJWT).
{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import requests' 2>/dev/null; } || missing+=(python3-requests)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-setup: missing packages; as root run: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "test-setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci for each locked client, skipped when node_modules was installed from
# the same package-lock.json (a stamp keeps its hash).
for dir in idp/oidc/testdata/openid-client idp/oidc/federation/testdata/oidfed-core idp/saml/testdata/node-saml scripts/browser; do
  stamp="$dir/node_modules/.cnsgate-lock-sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    continue
  fi
  echo "test-setup: npm ci --prefix $dir"
  npm ci --prefix "$dir" --no-audit --no-fund
  echo "$want" >"$stamp"
done
