#!/usr/bin/env bash
# SpaceTime VR - emergency rollback of an environment.
#
# Rolls every Deployment of kubernetes/overlays/<environment> back to its
# previous revision (or to --to-revision N) with `kubectl rollout undo`, then
# waits for the rollout to complete. Use `--list` to see the revision history.

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib/common.sh
source "${SCRIPT_DIR}/../lib/common.sh"
# scripts/deployment/ -> package root
PACKAGE_ROOT="${SPACETIME_PACKAGE_ROOT:-$(cd "${SCRIPT_DIR}/../.." && pwd)}"
readonly PACKAGE_ROOT
readonly OVERLAYS_DIR="${PACKAGE_ROOT}/kubernetes/overlays"

ENVIRONMENT=""
TO_REVISION=""
DRY_RUN=false
LIST_ONLY=false
ASSUME_YES=false
KUBE_CONTEXT=""
ROLLOUT_TIMEOUT="15m"
WORK_DIR=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} <environment> [options]

Roll back the SpaceTime VR workloads of <environment> with kubectl rollout undo.
Valid environments are the overlays shipped in this package:
  $(list_environments | paste -sd ' ' -)

Options:
  --to-revision N     Roll back to revision N (default: the previous revision).
                      See the revisions with --list.
  --list              Show the rollout history and exit.
  --dry-run           Show what would be rolled back (server-side dry run), change nothing.
  --context NAME      kubectl context to use (default: the current context).
  --timeout DURATION  Rollout timeout per workload (default: ${ROLLOUT_TIMEOUT}).
  -y, --yes           Do not ask for confirmation before rolling back production.
  -h, --help          Show this help.

Examples:
  ${SCRIPT_NAME} staging
  ${SCRIPT_NAME} production --list
  ${SCRIPT_NAME} production --to-revision 12 --yes

Exit status: 0 rolled back, 1 rollback failed, 2 usage error.
EOF
}


cleanup() {
    if [[ -n "${WORK_DIR}" && -d "${WORK_DIR}" ]]; then
        rm -rf "${WORK_DIR}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --to-revision)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--to-revision requires a value"
                TO_REVISION="$2"; shift 2 ;;
            --to-revision=*) TO_REVISION="${1#*=}"; shift ;;
            --list) LIST_ONLY=true; shift ;;
            --dry-run) DRY_RUN=true; shift ;;
            -y|--yes) ASSUME_YES=true; shift ;;
            --context)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--context requires a value"
                KUBE_CONTEXT="$2"; shift 2 ;;
            --timeout)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--timeout requires a value"
                ROLLOUT_TIMEOUT="$2"; shift 2 ;;
            --) shift; break ;;
            -*) usage_error "unknown option: $1" ;;
            *)
                [[ -z "${ENVIRONMENT}" ]] || usage_error "unexpected argument: $1 (environment already set to '${ENVIRONMENT}')"
                ENVIRONMENT="$1"; shift ;;
        esac
    done
    if [[ $# -gt 0 ]]; then
        [[ -z "${ENVIRONMENT}" && $# -eq 1 ]] || usage_error "unexpected arguments: $*"
        ENVIRONMENT="$1"
    fi
}

validate_args() {
    require_environment "${ENVIRONMENT}"
    if [[ -n "${TO_REVISION}" ]] && ! [[ "${TO_REVISION}" =~ ^[1-9][0-9]*$ ]]; then
        usage_error "--to-revision must be a positive integer, got '${TO_REVISION}'"
    fi
    [[ "${ROLLOUT_TIMEOUT}" =~ ^[0-9]+[smh]?$ ]] || usage_error "invalid --timeout '${ROLLOUT_TIMEOUT}' (e.g. 900s, 15m)"
    command -v kubectl >/dev/null 2>&1 || die "kubectl is required but was not found in PATH"
}

# Prints "<namespace> <name>" for every Deployment of the environment's overlay.
find_deployments() {
    kubectl kustomize "${OVERLAYS_DIR}/${ENVIRONMENT}" > "${WORK_DIR}/rendered.yaml" \
        || die "kustomize could not render ${OVERLAYS_DIR}/${ENVIRONMENT}"
    awk '
        function flush() { if (kind == "Deployment") print (ns == "" ? "default" : ns), name; kind = ""; name = ""; ns = "" }
        /^---/                    { flush(); inmeta = 0; next }
        /^kind:/                  { kind = $2; next }
        /^metadata:/              { inmeta = 1; next }
        /^[^ #]/                  { inmeta = 0 }
        inmeta && /^  name:/      { name = $2 }
        inmeta && /^  namespace:/ { ns = $2 }
        END { flush() }
    ' "${WORK_DIR}/rendered.yaml"
}

confirm_production() {
    local answer
    [[ "${ENVIRONMENT}" == "production" && "${DRY_RUN}" == false && "${ASSUME_YES}" == false ]] || return 0
    [[ -t 0 ]] || return 0
    printf 'Roll back PRODUCTION (context: %s)? Type "production" to continue: ' \
        "$(kc config current-context 2>/dev/null || printf 'unknown')"
    read -r answer
    [[ "${answer}" == "production" ]] || die "aborted by user"
}

main() {
    local ns name failed=0
    local -a undo_args

    parse_args "$@"
    validate_args

    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-rollback.XXXXXX")"
    find_deployments > "${WORK_DIR}/deployments.txt"
    [[ -s "${WORK_DIR}/deployments.txt" ]] || die "overlay '${ENVIRONMENT}' defines no Deployment"

    log "SpaceTime VR rollback: environment=${ENVIRONMENT} context=$(kc config current-context 2>/dev/null || printf 'unknown')"

    while read -r ns name; do
        log "Rollout history of deployment/${name} (namespace ${ns}):"
        kc -n "${ns}" rollout history "deployment/${name}" \
            || die "cannot read the history of deployment/${name} in namespace ${ns}"
        if [[ -n "${TO_REVISION}" ]] \
            && ! kc -n "${ns}" rollout history "deployment/${name}" --revision="${TO_REVISION}" >/dev/null 2>&1; then
            die "revision ${TO_REVISION} does not exist for deployment/${name} (see --list)"
        fi
    done < "${WORK_DIR}/deployments.txt"

    if [[ "${LIST_ONLY}" == true ]]; then
        exit 0
    fi

    confirm_production

    undo_args=()
    [[ -z "${TO_REVISION}" ]] || undo_args+=("--to-revision=${TO_REVISION}")
    [[ "${DRY_RUN}" == false ]] || undo_args+=("--dry-run=server")

    while read -r ns name; do
        log "Rolling back deployment/${name} in namespace ${ns} to ${TO_REVISION:+revision }${TO_REVISION:-the previous revision}"
        if ! kc -n "${ns}" rollout undo "deployment/${name}" ${undo_args[@]+"${undo_args[@]}"}; then
            warn "rollout undo of deployment/${name} failed"
            failed=1
            continue
        fi
        [[ "${DRY_RUN}" == false ]] || continue
        if ! kc -n "${ns}" rollout status "deployment/${name}" --timeout="${ROLLOUT_TIMEOUT}"; then
            warn "deployment/${name} did not become ready after the rollback"
            kc -n "${ns}" get pods -l "app.kubernetes.io/name=${name}" -o wide >&2 || true
            failed=1
        fi
    done < "${WORK_DIR}/deployments.txt"

    if [[ "${failed}" -ne 0 ]]; then
        die "rollback of '${ENVIRONMENT}' incomplete: check the workloads above"
    fi
    if [[ "${DRY_RUN}" == true ]]; then
        log "Dry run: nothing was changed"
    else
        log "Rollback of '${ENVIRONMENT}' complete. Verify with: ${PACKAGE_ROOT}/tests/smoke/smoke_test.sh <base-url>"
    fi
}

main "$@"
