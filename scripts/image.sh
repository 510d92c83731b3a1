#!/usr/bin/env bash
# Builds cnsgate's image FROM scratch (deploy/container/Containerfile.scratch)
# around a static binary built on the host, with podman (scripts/podman.sh).
# `make image` runs it; so does the image test in deploy/.
# Usage: scripts/image.sh BINARY TAG [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/image.sh BINARY TAG [VERSION]}
tag=${2:?usage: scripts/image.sh BINARY TAG [VERSION]}
version=${3:-dev}
[ -x "$bin" ] || { echo "image.sh: $bin is not an executable (make build makes bin/cnsgate)" >&2; exit 1; }
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "image.sh: no CA bundle at $ca: apt-get install ca-certificates" >&2; exit 1; }
[ -d /usr/share/zoneinfo ] || { echo "image.sh: no /usr/share/zoneinfo: apt-get install tzdata" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/usr/share" "$ctx/data"
cp "$bin" "$ctx/rootfs/usr/local/bin/cnsgate"
cp "$ca" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
cp -rL /usr/share/zoneinfo "$ctx/rootfs/usr/share/zoneinfo"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/var/lib/cnsgate:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$ctx/rootfs/etc/group"
cp deploy/container/Containerfile.scratch "$ctx/Containerfile"
scripts/podman.sh build --quiet --layers=false --build-arg VERSION="$version" -t "$tag" -f "$ctx/Containerfile" "$ctx"
