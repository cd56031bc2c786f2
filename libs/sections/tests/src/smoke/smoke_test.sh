#!/usr/bin/env bash
# SpaceTime VR - smoke test.
#
# Quick post-deployment validation of the critical HTTP endpoints of a game
# server (or of the public entry point through the Ingress / nginx):
#   GET /healthz         liveness                          -> 2xx
#   GET /readyz          readiness                         -> 2xx
#   GET /api/v1/status   public status document (JSON)     -> 2xx, JSON object
#                        with "version", not draining
#   GET /metrics         Prometheus exposition format      -> 2xx, "# TYPE" lines
# Each request has its own timeout, failed checks are retried while time
# remains, and the whole run is bounded (5 minutes by default).

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
readonly MAX_TOTAL_SECONDS=300

BASE_URL="${SPACETIME_BASE_URL:-}"
REQUEST_TIMEOUT=10
RETRIES=3
RETRY_DELAY=5
TOTAL_TIMEOUT="${MAX_TOTAL_SECONDS}"
INSECURE=false
SKIP_METRICS=false
WORK_DIR=""

PASSED=0
FAILED=0
FAILED_CHECKS=()

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] [BASE_URL]

Smoke-test a SpaceTime VR deployment. BASE_URL defaults to \$SPACETIME_BASE_URL,
e.g. http://127.0.0.1:8080 (port-forward) or https://staging.spacetime-vr.example.com

Checks: /healthz, /readyz, /api/v1/status, /metrics

Options:
  --timeout SECONDS        Timeout of one request (default: ${REQUEST_TIMEOUT}).
  --retries N              Extra attempts for a failing check (default: ${RETRIES}), ${RETRY_DELAY}s apart.
  --total-timeout SECONDS  Upper bound for the whole run (default and maximum: ${MAX_TOTAL_SECONDS}).
  --skip-metrics           Do not check /metrics (it is not exposed through the public
                           entry point; test it in-cluster or through a port-forward).
  -k, --insecure           Accept self-signed TLS certificates (staging/development only).
  -h, --help               Show this help.

Output: one PASS/FAIL line per check and a summary.
Exit status: 0 all checks passed, 1 a check failed or the run timed out, 2 usage error.
EOF
}

usage_error() {
    printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2
    printf "Run '%s --help' for usage.\n" "${SCRIPT_NAME}" >&2
    exit 2
}

cleanup() {
    if [[ -n "${WORK_DIR}" && -d "${WORK_DIR}" ]]; then
        rm -rf "${WORK_DIR}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

parse_args() {
    local positional=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --timeout)
                [[ $# -ge 2 ]] || usage_error "--timeout requires a value"
                REQUEST_TIMEOUT="$2"; shift 2 ;;
            --retries)
                [[ $# -ge 2 ]] || usage_error "--retries requires a value"
                RETRIES="$2"; shift 2 ;;
            --total-timeout)
                [[ $# -ge 2 ]] || usage_error "--total-timeout requires a value"
                TOTAL_TIMEOUT="$2"; shift 2 ;;
            --skip-metrics) SKIP_METRICS=true; shift ;;
            -k|--insecure) INSECURE=true; shift ;;
            --) shift; positional+=("$@"); break ;;
            -*) usage_error "unknown option: $1" ;;
            *) positional+=("$1"); shift ;;
        esac
    done
    [[ ${#positional[@]} -le 1 ]] || usage_error "only one BASE_URL may be given"
    [[ ${#positional[@]} -eq 0 ]] || BASE_URL="${positional[0]}"

    [[ -n "${BASE_URL}" ]] || usage_error "no BASE_URL given and SPACETIME_BASE_URL is not set"
    [[ "${BASE_URL}" =~ ^https?://[^/[:space:]]+ ]] || usage_error "BASE_URL must start with http:// or https://, got '${BASE_URL}'"
    BASE_URL="${BASE_URL%/}"
    [[ "${REQUEST_TIMEOUT}" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout must be a positive number of seconds"
    [[ "${RETRIES}" =~ ^[0-9]+$ ]] || usage_error "--retries must be a non-negative integer"
    [[ "${TOTAL_TIMEOUT}" =~ ^[1-9][0-9]*$ ]] || usage_error "--total-timeout must be a positive number of seconds"
    [[ "${TOTAL_TIMEOUT}" -le "${MAX_TOTAL_SECONDS}" ]] || usage_error "--total-timeout may not exceed ${MAX_TOTAL_SECONDS} seconds"
    command -v curl >/dev/null 2>&1 || { printf '%s: error: curl is required but was not found in PATH\n' "${SCRIPT_NAME}" >&2; exit 1; }
}

remaining_seconds() {
    printf '%d\n' $(( TOTAL_TIMEOUT - SECONDS ))
}

# fetch <path>: GET BASE_URL<path> into $WORK_DIR/body; sets HTTP_CODE and ERROR.
fetch() {
    local max_time remaining rc=0
    remaining="$(remaining_seconds)"
    max_time=$(( remaining < REQUEST_TIMEOUT ? remaining : REQUEST_TIMEOUT ))
    HTTP_CODE="000"
    ERROR=""
    if [[ "${max_time}" -le 0 ]]; then
        ERROR="smoke test time budget (${TOTAL_TIMEOUT}s) exhausted"
        return 1
    fi
    local -a curl_args=(--silent --show-error --output "${WORK_DIR}/body" --write-out '%{http_code}'
        --connect-timeout "$(( max_time < 5 ? max_time : 5 ))" --max-time "${max_time}"
        --user-agent "spacetime-smoke-test/2.5")
    [[ "${INSECURE}" == false ]] || curl_args+=(--insecure)
    : > "${WORK_DIR}/body"
    HTTP_CODE="$(curl "${curl_args[@]}" "${BASE_URL}$1" 2> "${WORK_DIR}/stderr")" || rc=$?
    HTTP_CODE="${HTTP_CODE:-000}"
    if [[ "${rc}" -ne 0 ]]; then
        ERROR="$(head -n 1 "${WORK_DIR}/stderr" | sed -E 's/^curl: \([0-9]+\) //')"
        ERROR="${ERROR:-curl exit code ${rc}}"
        return 1
    fi
    if ! [[ "${HTTP_CODE}" =~ ^2[0-9][0-9]$ ]]; then
        ERROR="HTTP ${HTTP_CODE}"
        return 1
    fi
}

# Content validators: return 0 when the body looks right, else print a reason.
validate_none() { return 0; }

validate_status_json() {
    local body
    body="$(tr -d '\r\n' < "${WORK_DIR}/body")"
    if ! [[ "${body}" =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]]; then
        printf 'body is not a JSON object'
        return 1
    fi
    if ! grep -q '"version"[[:space:]]*:' <<<"${body}"; then
        printf 'JSON has no "version" field'
        return 1
    fi
    if grep -q '"draining"[[:space:]]*:[[:space:]]*true' <<<"${body}"; then
        printf 'server reports draining=true'
        return 1
    fi
}

validate_metrics() {
    if ! grep -q '^# TYPE ' "${WORK_DIR}/body"; then
        printf 'no "# TYPE" lines: not the Prometheus exposition format'
        return 1
    fi
}

# check <name> <path> <validator>
check() {
    local name="$1" path="$2" validator="$3" attempt=0 start elapsed reason
    while :; do
        start="${SECONDS}"
        reason=""
        if fetch "${path}"; then
            if reason="$("${validator}")"; then
                elapsed=$(( SECONDS - start ))
                printf 'PASS  %-16s %-18s HTTP %s (%ss)\n' "${name}" "${path}" "${HTTP_CODE}" "${elapsed}"
                PASSED=$((PASSED + 1))
                return 0
            fi
        else
            reason="${ERROR}"
        fi
        attempt=$((attempt + 1))
        if [[ "${attempt}" -gt "${RETRIES}" || "$(remaining_seconds)" -le "${RETRY_DELAY}" ]]; then
            break
        fi
        printf '      %-16s attempt %d failed (%s), retrying in %ss\n' "${name}" "${attempt}" "${reason}" "${RETRY_DELAY}"
        sleep "${RETRY_DELAY}"
    done
    printf 'FAIL  %-16s %-18s %s\n' "${name}" "${path}" "${reason}"
    FAILED=$((FAILED + 1))
    FAILED_CHECKS+=("${name}")
    return 0
}

main() {
    parse_args "$@"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-smoke.XXXXXX")"
    SECONDS=0

    printf 'SpaceTime VR smoke test\n'
    printf '  target:  %s\n' "${BASE_URL}"
    printf '  started: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  limits:  %ss per request, %ss in total\n\n' "${REQUEST_TIMEOUT}" "${TOTAL_TIMEOUT}"

    check "liveness" "/healthz" validate_none
    check "readiness" "/readyz" validate_none
    check "api-status" "/api/v1/status" validate_status_json
    if [[ "${SKIP_METRICS}" == true ]]; then
        printf 'SKIP  %-16s %-18s --skip-metrics\n' "metrics" "/metrics"
    else
        check "metrics" "/metrics" validate_metrics
    fi

    printf '\nSummary: %d passed, %d failed in %ss\n' "${PASSED}" "${FAILED}" "${SECONDS}"
    if [[ "${FAILED}" -gt 0 ]]; then
        printf 'SMOKE TEST FAILED: %s\n' "${FAILED_CHECKS[*]}"
        exit 1
    fi
    printf 'SMOKE TEST PASSED\n'
}

main "$@"
