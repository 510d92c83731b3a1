#!/usr/bin/env bash
# podman as it runs on machines without systemd cgroups or a CNI bridge:
# runc, cgroupfs, and a containers.conf without default ulimits (which such
# machines refuse). Containers need `--network host` there; use loopback
# ports. Usage: scripts/podman.sh PODMAN-ARGS...
set -euo pipefail
if ! command -v podman >/dev/null; then
  echo "podman.sh: podman is not installed: apt-get install -y --no-install-recommends podman runc (scripts/test-setup.sh does)" >&2
  exit 127
fi
conf_dir=${XDG_CACHE_HOME:-$HOME/.cache}/cnsgate
mkdir -p "$conf_dir"
conf=$conf_dir/containers.conf
if [ ! -f "$conf" ]; then
  printf '[containers]\ndefault_ulimits = []\n' >"$conf.tmp.$$"
  mv "$conf.tmp.$$" "$conf"
fi
export CONTAINERS_CONF=$conf
exec podman --runtime runc --cgroup-manager=cgroupfs "$@"
