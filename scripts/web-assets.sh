#!/usr/bin/env bash
# Vendors Bootstrap Italia (the UI kit of Italian public-administration
# services, https://italia.github.io/bootstrap-italia/) into idp/web/static:
# its built stylesheet and the Titillium Web woff2 fonts, nothing else (the
# pages run no script; the fonts are declared in cnsgate.css, because
# Bootstrap Italia 2 loads them from its JavaScript). The package comes from
# the npm registry through `npm pack`; its version, tarball integrity and
# licences are written to idp/web/static/VERSIONS and LICENSES/.
# Usage: scripts/web-assets.sh [VERSION]   (make web-assets)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-2.9.2}
dest=idp/web/static
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v npm >/dev/null || { echo "web-assets: npm is missing: apt-get install -y npm" >&2; exit 1; }
(cd "$tmp" && npm pack --silent "bootstrap-italia@$version" >/dev/null)
tarball=$(ls "$tmp"/bootstrap-italia-*.tgz)
tar -xzf "$tarball" -C "$tmp"
pkg=$tmp/package
got=$(node -p "require('$pkg/package.json').version")
integrity=$(npm view "bootstrap-italia@$got" dist.integrity)

rm -rf "$dest/bootstrap-italia" "$dest/fonts" "$dest/LICENSES"
mkdir -p "$dest/bootstrap-italia" "$dest/fonts" "$dest/LICENSES"
# The stylesheet without its source-map comment (no map is shipped).
sed -e 's#/\*\# sourceMappingURL=[^*]*\*/##' "$pkg/dist/css/bootstrap-italia.min.css" >"$dest/bootstrap-italia/bootstrap-italia.min.css"
for w in regular italic 600 700; do
  cp "$pkg/dist/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-$w.woff2" "$dest/fonts/"
done
cp "$pkg/LICENSE" "$dest/LICENSES/bootstrap-italia-BSD-3-Clause.txt"
cp "$pkg/dist/fonts/Titillium_Web/OFL.txt" "$dest/LICENSES/titillium-web-OFL-1.1.txt"

cat >"$dest/VERSIONS" <<V
# Vendored by scripts/web-assets.sh (make web-assets); do not edit by hand.
bootstrap-italia $got
  source: npm pack bootstrap-italia@$got (https://www.npmjs.com/package/bootstrap-italia)
  integrity: $integrity
  files: bootstrap-italia/bootstrap-italia.min.css (dist/css/bootstrap-italia.min.css, source-map comment removed)
  licence: BSD-3-Clause (LICENSES/bootstrap-italia-BSD-3-Clause.txt)
Titillium Web (as shipped in bootstrap-italia $got, dist/fonts/Titillium_Web)
  files: fonts/titillium-web-v10-latin-ext_latin-{regular,italic,600,700}.woff2
  licence: SIL Open Font License 1.1 (LICENSES/titillium-web-OFL-1.1.txt)
V
chmod 644 "$dest"/fonts/* "$dest"/LICENSES/*
echo "web-assets: bootstrap-italia $got vendored into $dest"
