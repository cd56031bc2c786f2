#!/usr/bin/env bash
# Installs, from Debian's packages, the tools the tests use as a recipient would:
# GnuPG, GNU tar and gzip, zip/unzip, Python 3 (zipfile) and git. Idempotent; needs root.
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
)

missing=()
for tool in "${!package_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_for[$tool]}")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "toolchain: everything present"
fi
