#!/bin/sh
# Prints what an external engine contributes to a cached target's hash; used as Nx `runtime`
# inputs of the packaging targets (node), binaries:export and binaries:image. Never fails: a
# missing engine prints "none", so installing one changes the hash and the target runs again.
# A shell script, not Node: Nx runs every runtime input on every run, and starting Node costs
# more than the answer.
#   sh tools/build-inputs.sh godot           Godot binaries (GODOT_BIN, godot, godot4, godot3) and versions
#   sh tools/build-inputs.sh node            Node's version (its zlib decides the bytes of every deflated piece)
#   sh tools/build-inputs.sh docker          the Docker engine's version at DOCKER_HOST or the default socket
#   sh tools/build-inputs.sh commit <paths>  the last commit touching the paths, and its time
#                                            (the image's revision and created labels)

# A binary's --version, remembered by what stat says of it (device, inode, size, mtime, ctime):
# Godot takes 0.1 s to 1 s to start and Node about 0.1 s, and Nx runs this for every hash.
version() {
  id=$(stat -L -c '%d-%i-%s-%Y-%Z' "$1" 2>/dev/null) || { echo unusable; return; }
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/spacetime-release/version-$id"
  if [ -f "$cache" ]; then
    cat "$cache"
    return
  fi
  out=$(timeout 20 "$1" --version 2>/dev/null | tail -n 1)
  [ -n "$out" ] && mkdir -p "${cache%/*}" && printf '%s\n' "$out" > "$cache.$$" && mv "$cache.$$" "$cache"
  echo "${out:-unusable}"
}

case "$1" in
  godot)
    if [ -n "$GODOT_BIN" ]; then
      echo "GODOT_BIN=$(version "$GODOT_BIN")"
      exit 0
    fi
    found=""
    for name in godot godot4 godot3; do
      path=$(command -v "$name" 2>/dev/null) && [ -f "$path" ] && found="$found $name=$(version "$path")"
    done
    echo "${found# }" | grep . || echo "godot=none"
    ;;
  node)
    path=$(command -v node 2>/dev/null) && echo "node=$(version "$path")" || echo "node=none"
    ;;
  docker)
    host=${DOCKER_HOST:-unix:///var/run/docker.sock}
    case "$host" in
      unix://*) answer=$(curl -sf --max-time 3 --unix-socket "${host#unix://}" http://localhost/version 2>/dev/null) ;;
      *) answer=$(curl -sf --max-time 3 "http://$(echo "${host#*://}" | sed 's|/.*||')/version" 2>/dev/null) ;;
    esac
    [ -n "$answer" ] || answer=$(docker version --format 'docker={{.Server.Version}} api={{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}' 2>/dev/null) || answer=
    echo "${answer:-docker=none}"
    ;;
  commit)
    shift
    git log -1 --format='%H %ct' -- "$@" 2>/dev/null | grep . || echo "commit=none"
    ;;
  *)
    echo "usage: sh tools/build-inputs.sh godot|node|docker|commit <paths>" >&2
    exit 2
    ;;
esac
