#!/usr/bin/env bash
# Prints the versions of the tools the `validate` targets run: an Nx runtime input, so a
# different tool (or a missing one) gives a different cache key.
for tool in kubectl helm promtool amtool nginx shellcheck openssl bash; do
  path=$(command -v "$tool" 2>/dev/null || true)
  [ -z "$path" ] && [ -x "/usr/sbin/$tool" ] && path=/usr/sbin/$tool
  if [ -z "$path" ]; then echo "$tool: missing"; continue; fi
  case "$tool" in
    kubectl) v=$("$path" version --client 2>&1 | head -1) ;;
    helm) v=$("$path" version --short 2>&1 | head -1) ;;
    nginx) v=$("$path" -v 2>&1 | head -1) ;;
    openssl) v=$("$path" version 2>&1 | head -1) ;;
    shellcheck) v=$("$path" --version 2>&1 | sed -n 2p) ;;
    *) v=$("$path" --version 2>&1 | head -1) ;;
  esac
  echo "$tool: $v"
done
