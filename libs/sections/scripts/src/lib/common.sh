#!/usr/bin/env bash
# SpaceTime VR - helpers shared by the package's scripts. Sourced, never run:
#   source "${SCRIPT_DIR}/../lib/common.sh"
# The sourcing script sets SCRIPT_NAME (and, for the environment helpers,
# OVERLAYS_DIR and KUBE_CONTEXT) before calling these.

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
    printf '%s is a library: source it from a script\n' "${0##*/}" >&2
    exit 2
fi

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2; exit 1; }
usage_error() {
    printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2
    printf "Run '%s --help' for usage.\n" "${SCRIPT_NAME}" >&2
    exit 2
}

# kubectl, in KUBE_CONTEXT when one is set.
kc() {
    if [[ -n "${KUBE_CONTEXT}" ]]; then
        kubectl --context "${KUBE_CONTEXT}" "$@"
    else
        kubectl "$@"
    fi
}

# The environments this package can deploy: every overlay with a kustomization.
list_environments() {
    local dir
    [[ -d "${OVERLAYS_DIR}" ]] || return 0
    for dir in "${OVERLAYS_DIR}"/*/; do
        [[ -d "${dir}" ]] || continue
        if [[ -f "${dir}kustomization.yaml" || -f "${dir}kustomization.yml" || -f "${dir}Kustomization" ]]; then
            basename "${dir}"
        fi
    done
}

# require_environment <name>: exits with the list of overlays unless <name> is one of them.
require_environment() {
    local environment="$1" available env_name
    available="$(list_environments)"
    [[ -n "${available}" ]] || die "no environments found: ${OVERLAYS_DIR} has no overlay with a kustomization.yaml (is this script inside a release package?)"
    [[ -n "${environment}" ]] || usage_error "missing <environment>; available: $(paste -sd ' ' - <<<"${available}")"
    if ! grep -Fxq -- "${environment}" <<<"${available}"; then
        printf "%s: error: unknown environment '%s': no overlay kubernetes/overlays/%s in this package.\n" \
            "${SCRIPT_NAME}" "${environment}" "${environment}" >&2
        printf 'Available environments:\n' >&2
        while IFS= read -r env_name; do
            printf '  %s\n' "${env_name}"
        done <<<"${available}" >&2
        exit 2
    fi
}
