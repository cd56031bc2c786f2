#!/usr/bin/env bash
# SpaceTime VR - deploy a release to a Kubernetes environment.
#
# Renders kubernetes/overlays/<environment> of this release package with the
# requested image, applies it with `kubectl apply -k`, waits for every
# workload to finish rolling out and runs the package's smoke test.
# The package itself is never modified: the image override lives in a
# temporary copy of kubernetes/.

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
readonly SMOKE_TEST="${PACKAGE_ROOT}/tests/smoke/smoke_test.sh"
readonly IMAGE_NAME="spacetime-vr"
readonly HTTP_API_PORT=8080
# Never deployed: a mutable tag makes rollbacks and audits meaningless.
readonly MUTABLE_TAG="latest"

ENVIRONMENT=""
IMAGE_TAG=""
DRY_RUN=false
ASSUME_YES=false
SKIP_SMOKE_TEST=false
KUBE_CONTEXT=""
ROLLOUT_TIMEOUT="15m"
SMOKE_BASE_URL="${SPACETIME_BASE_URL:-}"
LOCAL_PORT="${SPACETIME_LOCAL_PORT:-18080}"

WORK_DIR=""
PORT_FORWARD_PID=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} <environment> [options]

Deploy SpaceTime VR to <environment>. Valid environments are the overlays
shipped in this package (${OVERLAYS_DIR#"${PACKAGE_ROOT}/"}/):
  $(list_environments | paste -sd ' ' -)

Options:
  --image-tag TAG     Image tag to deploy (default: the release tag set in the overlay).
                      "latest" is refused.
  --dry-run           Render and validate the manifests, show what would be applied,
                      change nothing in the cluster.
  --context NAME      kubectl context to use (default: the current context).
  --timeout DURATION  Rollout timeout per workload (default: ${ROLLOUT_TIMEOUT}).
  --base-url URL      Base URL for the smoke test (default: \$SPACETIME_BASE_URL, else a
                      temporary kubectl port-forward to the game server).
  --skip-smoke-test   Do not run tests/smoke/smoke_test.sh after the rollout.
  -y, --yes           Do not ask for confirmation before deploying to production.
  -h, --help          Show this help.

Environment:
  DOCKER_REGISTRY       Registry holding the ${IMAGE_NAME} image, e.g. ghcr.io/your-org (required).
  SPACETIME_BASE_URL    Smoke-test base URL (same as --base-url).
  SPACETIME_LOCAL_PORT  Local port for the smoke-test port-forward (default: 18080).

Examples:
  DOCKER_REGISTRY=ghcr.io/your-org ${SCRIPT_NAME} staging
  DOCKER_REGISTRY=ghcr.io/your-org ${SCRIPT_NAME} production --image-tag 2.5.0 --dry-run

Exit status: 0 deployed, 1 deployment or smoke test failed, 2 usage error.
EOF
}


cleanup() {
    if [[ -n "${PORT_FORWARD_PID}" ]] && kill -0 "${PORT_FORWARD_PID}" 2>/dev/null; then
        kill "${PORT_FORWARD_PID}" 2>/dev/null || true
        wait "${PORT_FORWARD_PID}" 2>/dev/null || true
    fi
    if [[ -n "${WORK_DIR}" && -d "${WORK_DIR}" ]]; then
        rm -rf "${WORK_DIR}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Environments = directories under kubernetes/overlays/ holding a kustomization.
render() {
    # render <kustomization dir>
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$1"
    else
        kustomize build "$1"
    fi
}

# Prints "<Kind> <namespace or -> <name>" for every object of a rendered stream.
list_objects() {
    awk '
        function flush() { if (kind != "") print kind, (ns == "" ? "-" : ns), name; kind = ""; name = ""; ns = "" }
        /^---/                 { flush(); inmeta = 0; next }
        /^kind:/               { kind = $2; next }
        /^metadata:/           { inmeta = 1; next }
        /^[^ #]/               { inmeta = 0 }
        inmeta && /^  name:/      { name = $2 }
        inmeta && /^  namespace:/ { ns = $2 }
        END { flush() }
    ' "$1"
}

# Prints the container image references of a rendered stream, one per line.
extract_images() {
    sed -n -E 's/^[[:space:]]*(-[[:space:]]+)?image:[[:space:]]*["'"'"']?([^"'"'"'[:space:]]+)["'"'"']?[[:space:]]*$/\2/p' "$1"
}

# Strips a tag and/or digest from an image reference.
image_repository() {
    local ref="${1%%@*}"
    local last="${ref##*/}"
    if [[ "${last}" == *:* ]]; then
        ref="${ref%:*}"
    fi
    printf '%s\n' "${ref}"
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --image-tag)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--image-tag requires a value"
                IMAGE_TAG="$2"; shift 2 ;;
            --image-tag=*) IMAGE_TAG="${1#*=}"; [[ -n "${IMAGE_TAG}" ]] || usage_error "--image-tag requires a value"; shift ;;
            --dry-run) DRY_RUN=true; shift ;;
            -y|--yes) ASSUME_YES=true; shift ;;
            --skip-smoke-test) SKIP_SMOKE_TEST=true; shift ;;
            --context)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--context requires a value"
                KUBE_CONTEXT="$2"; shift 2 ;;
            --timeout)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--timeout requires a value"
                ROLLOUT_TIMEOUT="$2"; shift 2 ;;
            --base-url)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--base-url requires a value"
                SMOKE_BASE_URL="$2"; shift 2 ;;
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

    if [[ -n "${IMAGE_TAG}" ]]; then
        [[ "${IMAGE_TAG}" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "invalid image tag '${IMAGE_TAG}'"
        [[ "${IMAGE_TAG}" != "${MUTABLE_TAG}" ]] || usage_error "refusing to deploy the mutable tag '${MUTABLE_TAG}'; pass a release tag such as 2.5.0"
    fi
    [[ "${ROLLOUT_TIMEOUT}" =~ ^[0-9]+[smh]?$ ]] || usage_error "invalid --timeout '${ROLLOUT_TIMEOUT}' (e.g. 900s, 15m)"
    [[ "${LOCAL_PORT}" =~ ^[0-9]+$ ]] || usage_error "SPACETIME_LOCAL_PORT must be a port number"

    if ! command -v kubectl >/dev/null 2>&1; then
        if [[ "${DRY_RUN}" == true ]] && command -v kustomize >/dev/null 2>&1; then
            warn "kubectl not found: rendering with kustomize only"
        else
            die "kubectl is required but was not found in PATH"
        fi
    fi
    if [[ -z "${DOCKER_REGISTRY:-}" ]]; then
        if [[ "${DRY_RUN}" == true ]]; then
            warn "DOCKER_REGISTRY is not set: the image keeps its unqualified name"
        else
            die "DOCKER_REGISTRY is not set (e.g. export DOCKER_REGISTRY=ghcr.io/your-org)"
        fi
    fi
}

# Copies kubernetes/ to a temporary directory and adds a wrapper kustomization
# (kubernetes/.deploy) that pins the image and records the change cause.
prepare_manifests() {
    local overlay_dir="${OVERLAYS_DIR}/${ENVIRONMENT}"
    local current_image image repo new_name tag_line cause

    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-deploy.XXXXXX")"
    render "${overlay_dir}" > "${WORK_DIR}/overlay.yaml" \
        || die "kustomize could not render ${overlay_dir}"

    current_image=""
    while IFS= read -r image; do
        repo="$(image_repository "${image}")"
        if [[ "${repo##*/}" == "${IMAGE_NAME}" ]]; then
            current_image="${image}"
            break
        fi
    done < <(extract_images "${WORK_DIR}/overlay.yaml")
    [[ -n "${current_image}" ]] || die "no '${IMAGE_NAME}' container image found in overlay '${ENVIRONMENT}'"

    new_name="${repo}"
    if [[ -n "${DOCKER_REGISTRY:-}" ]]; then
        new_name="${DOCKER_REGISTRY%/}/${IMAGE_NAME}"
    fi
    tag_line=""
    if [[ -n "${IMAGE_TAG}" ]]; then
        tag_line="    newTag: \"${IMAGE_TAG}\""
    fi
    cause="deploy.sh ${ENVIRONMENT} tag=${IMAGE_TAG:-overlay-default} by ${USER:-$(id -un 2>/dev/null || printf 'unknown')} at $(date -u +%Y-%m-%dT%H:%M:%SZ)"

    cp -R "${PACKAGE_ROOT}/kubernetes" "${WORK_DIR}/kubernetes"
    mkdir -p "${WORK_DIR}/kubernetes/.deploy"
    {
        printf 'apiVersion: kustomize.config.k8s.io/v1beta1\n'
        printf 'kind: Kustomization\n'
        printf 'resources:\n'
        printf '  - ../overlays/%s\n' "${ENVIRONMENT}"
        printf 'images:\n'
        printf '  - name: "%s"\n' "${repo}"
        printf '    newName: "%s"\n' "${new_name}"
        [[ -z "${tag_line}" ]] || printf '%s\n' "${tag_line}"
        printf 'patches:\n'
        printf '  - target:\n'
        printf '      kind: Deployment\n'
        printf '    patch: |-\n'
        printf '      apiVersion: apps/v1\n'
        printf '      kind: Deployment\n'
        printf '      metadata:\n'
        printf '        name: ignored\n'
        printf '        annotations:\n'
        printf '          kubernetes.io/change-cause: "%s"\n' "${cause}"
    } > "${WORK_DIR}/kubernetes/.deploy/kustomization.yaml"

    render "${WORK_DIR}/kubernetes/.deploy" > "${WORK_DIR}/rendered.yaml" \
        || die "kustomize could not render the deployment manifests"
}

check_rendered() {
    local rendered="${WORK_DIR}/rendered.yaml" image bad="" placeholders

    log "Images:"
    while IFS= read -r image; do
        printf '    %s\n' "${image}"
        # Untagged, mutable ("latest") or unsubstituted ("{{version}}") references are refused.
        if [[ "${image}" == "$(image_repository "${image}")" || "${image}" == *":${MUTABLE_TAG}" || "${image}" == *"{{"* ]]; then
            bad="${bad} ${image}"
        fi
    done < <(extract_images "${rendered}" | sort -u)
    if [[ -n "${bad}" ]]; then
        die "refusing images without a pinned release tag:${bad}"
    fi

    # Template placeholders such as <DATABASE_PASSWORD> must never reach a cluster:
    # applying them would overwrite the real Secret.
    placeholders="$(grep -oE '<[A-Z][A-Z0-9_]*>' "${rendered}" | sort -u || true)"
    if [[ -n "${placeholders}" ]]; then
        if [[ "${DRY_RUN}" == true ]]; then
            warn "rendered manifests still contain placeholders: $(paste -sd ' ' - <<<"${placeholders}")"
        else
            die "rendered manifests still contain placeholders ($(paste -sd ' ' - <<<"${placeholders}")). Fill in kubernetes/base/secret.yaml in a private copy, or create the Secret out of band and remove it from the kustomization."
        fi
    fi
}

confirm_production() {
    local answer
    [[ "${ENVIRONMENT}" == "production" && "${DRY_RUN}" == false && "${ASSUME_YES}" == false ]] || return 0
    [[ -t 0 ]] || return 0
    printf 'Deploy to PRODUCTION (context: %s)? Type "production" to continue: ' \
        "$(kc config current-context 2>/dev/null || printf 'unknown')"
    read -r answer
    [[ "${answer}" == "production" ]] || die "aborted by user"
}

wait_for_rollouts() {
    local kind ns name failed=0
    while read -r kind ns name; do
        case "${kind}" in
            Deployment|StatefulSet|DaemonSet) ;;
            *) continue ;;
        esac
        log "Waiting for ${kind}/${name} in namespace ${ns} (timeout ${ROLLOUT_TIMEOUT})"
        if ! kc -n "${ns}" rollout status "$(tr '[:upper:]' '[:lower:]' <<<"${kind}")/${name}" --timeout="${ROLLOUT_TIMEOUT}"; then
            warn "${kind}/${name} did not become ready"
            kc -n "${ns}" get pods -l "app.kubernetes.io/name=${IMAGE_NAME}" -o wide >&2 || true
            failed=1
        fi
    done < "${WORK_DIR}/objects.txt"
    return "${failed}"
}

start_port_forward() {
    local ns name i
    read -r _ ns name < <(awk '$1 == "Deployment"' "${WORK_DIR}/objects.txt" | head -n 1) || true
    [[ -n "${name:-}" ]] || die "no Deployment to port-forward to for the smoke test; pass --base-url"
    log "Port-forwarding 127.0.0.1:${LOCAL_PORT} -> deployment/${name}:${HTTP_API_PORT} (namespace ${ns})"
    # kubectl itself is the background job (not the kc function, whose subshell
    # would survive as the only thing cleanup() can kill).
    local -a context_args=()
    [[ -z "${KUBE_CONTEXT}" ]] || context_args=(--context "${KUBE_CONTEXT}")
    kubectl ${context_args[@]+"${context_args[@]}"} -n "${ns}" port-forward "deployment/${name}" \
        "${LOCAL_PORT}:${HTTP_API_PORT}" > "${WORK_DIR}/port-forward.log" 2>&1 &
    PORT_FORWARD_PID=$!
    for ((i = 0; i < 30; i++)); do
        if grep -q 'Forwarding from' "${WORK_DIR}/port-forward.log" 2>/dev/null; then
            SMOKE_BASE_URL="http://127.0.0.1:${LOCAL_PORT}"
            return 0
        fi
        kill -0 "${PORT_FORWARD_PID}" 2>/dev/null || break
        sleep 1
    done
    cat "${WORK_DIR}/port-forward.log" >&2 || true
    die "kubectl port-forward did not start; pass --base-url to test through the Ingress instead"
}

run_smoke_test() {
    [[ -x "${SMOKE_TEST}" ]] || die "smoke test not found or not executable: ${SMOKE_TEST} (use --skip-smoke-test to deploy without it)"
    if [[ -z "${SMOKE_BASE_URL}" ]]; then
        start_port_forward
    fi
    log "Running smoke test against ${SMOKE_BASE_URL}"
    "${SMOKE_TEST}" "${SMOKE_BASE_URL}"
}

main() {
    parse_args "$@"
    validate_args

    log "SpaceTime VR deployment: environment=${ENVIRONMENT} dry-run=${DRY_RUN}"
    log "Package: ${PACKAGE_ROOT}"
    prepare_manifests
    list_objects "${WORK_DIR}/rendered.yaml" > "${WORK_DIR}/objects.txt"
    check_rendered
    log "Objects ($(wc -l < "${WORK_DIR}/objects.txt")):"
    sed 's/^/    /' "${WORK_DIR}/objects.txt"

    if [[ "${DRY_RUN}" == true ]]; then
        log "Dry run: nothing was applied. Render it yourself with: kubectl kustomize ${OVERLAYS_DIR}/${ENVIRONMENT}"
        exit 0
    fi

    confirm_production
    log "Cluster context: $(kc config current-context 2>/dev/null || printf 'unknown')"
    log "Applying overlay '${ENVIRONMENT}' (kubectl apply -k)"
    kc apply -k "${WORK_DIR}/kubernetes/.deploy" || die "kubectl apply failed"

    if ! wait_for_rollouts; then
        printf '%s: error: rollout failed. Roll back with: %s/rollback.sh %s\n' \
            "${SCRIPT_NAME}" "${SCRIPT_DIR}" "${ENVIRONMENT}" >&2
        exit 1
    fi
    log "Rollout complete"

    if [[ "${SKIP_SMOKE_TEST}" == true ]]; then
        warn "smoke test skipped (--skip-smoke-test)"
    elif ! run_smoke_test; then
        printf '%s: error: smoke test failed. Roll back with: %s/rollback.sh %s\n' \
            "${SCRIPT_NAME}" "${SCRIPT_DIR}" "${ENVIRONMENT}" >&2
        exit 1
    fi
    log "Deployment of '${ENVIRONMENT}' succeeded"
}

main "$@"
