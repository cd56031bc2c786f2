#!/usr/bin/env bash
# Installs, from Debian's packages, the tools the tests use as a recipient would:
# GnuPG, GNU tar and gzip, zip/unzip, Python 3 (zipfile), git, the validation tools, the Docker
# engine, Godot 3 and a container registry. Idempotent; needs root.
set -euo pipefail

declare -A package_for=(
  [gpg]=gnupg
  [tar]=tar
  [gzip]=gzip
  [zip]=zip
  [unzip]=unzip
  [python3]=python3
  [git]=git
  [sha256sum]=coreutils
  # validation (`nx run-many -t validate`, release:doctor); kubectl comes with the image
  [promtool]=prometheus
  [amtool]=prometheus-alertmanager
  [nginx]=nginx
  [shellcheck]=shellcheck
  [psql]=postgresql
  [openssl]=openssl
  # binaries: the Docker engine (started by .ci/run), a real Godot 3 for the export test
  [dockerd]=docker.io
  [docker]=docker.io
  [godot3]=godot3
  [godot3-server]=godot3-server
  [xvfb-run]=xvfb
  [xauth]=xauth
  # publish: the container registry the publish tests push to (on loopback)
  [docker-registry]=docker-registry
)

missing=()
for tool in "${!package_for[@]}"; do
  # nginx lives in /usr/sbin, which is not on every user's PATH
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${package_for[$tool]}")
done
# The tests' local base image copies /bin/busybox into an empty root: it must be the static one.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Tools only: keep the packages' services (nginx, prometheus, postgresql) from starting.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  if ((!had_policy)); then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "toolchain: everything present"
fi
