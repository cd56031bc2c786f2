#!/usr/bin/env bash
# SpaceTime VR - service health verification.
#
# Probes the game server's health endpoints (/healthz liveness, /readyz
# readiness) with bounded timeouts and prints one table row per endpoint.
# Suitable for cron, CI and manual checks after maintenance.

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"

BASE_URL="${SPACETIME_BASE_URL:-}"
TIMEOUT=5
RETRIES=0
RETRY_DELAY=2
INSECURE=false
ENDPOINTS=()
WORK_DIR=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] [BASE_URL]

Check the health endpoints of a SpaceTime VR server.
BASE_URL defaults to \$SPACETIME_BASE_URL, e.g. http://localhost:8080 or
https://staging.spacetime-vr.example.com

Options:
  --timeout SECONDS   Maximum time per request (default: ${TIMEOUT}).
  --retries N         Retry a failing endpoint N more times, ${RETRY_DELAY}s apart (default: ${RETRIES}).
  --endpoint PATH     Endpoint to check instead of the defaults; repeatable.
                      Defaults: /healthz /readyz
  -k, --insecure      Accept self-signed TLS certificates (staging/development only).
  -h, --help          Show this help.

A check passes when the endpoint answers HTTP 2xx within the timeout.
Exit status: 0 all healthy, 1 at least one check failed, 2 usage error.
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
                TIMEOUT="$2"; shift 2 ;;
            --retries)
                [[ $# -ge 2 ]] || usage_error "--retries requires a value"
                RETRIES="$2"; shift 2 ;;
            --endpoint)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--endpoint requires a value"
                ENDPOINTS+=("$2"); shift 2 ;;
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
    [[ "${TIMEOUT}" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout must be a positive number of seconds"
    [[ "${RETRIES}" =~ ^[0-9]+$ ]] || usage_error "--retries must be a non-negative integer"
    if [[ ${#ENDPOINTS[@]} -eq 0 ]]; then
        ENDPOINTS=(/healthz /readyz)
    fi
    local endpoint
    for endpoint in "${ENDPOINTS[@]}"; do
        [[ "${endpoint}" == /* ]] || usage_error "endpoint must start with '/': ${endpoint}"
    done
    command -v curl >/dev/null 2>&1 || { printf '%s: error: curl is required but was not found in PATH\n' "${SCRIPT_NAME}" >&2; exit 1; }
}

# probe <endpoint>: sets PROBE_CODE, PROBE_MS and PROBE_DETAIL; returns 0 on HTTP 2xx.
probe() {
    local url="${BASE_URL}$1" out rc
    local -a curl_args=(--silent --show-error --output "${WORK_DIR}/body"
        --write-out '%{http_code} %{time_total}'
        --connect-timeout "$(( TIMEOUT < 3 ? TIMEOUT : 3 ))" --max-time "${TIMEOUT}"
        --header 'Accept: application/json' --user-agent "spacetime-health-check/2.5")
    [[ "${INSECURE}" == false ]] || curl_args+=(--insecure)

    : > "${WORK_DIR}/body"
    rc=0
    out="$(curl "${curl_args[@]}" "${url}" 2> "${WORK_DIR}/stderr")" || rc=$?
    PROBE_CODE="${out%% *}"
    PROBE_CODE="${PROBE_CODE:-000}"
    PROBE_MS="$(awk -v t="${out#* }" 'BEGIN { if (t ~ /^[0-9.]+$/) printf "%d", t * 1000; else print "-" }')"
    if [[ "${rc}" -ne 0 ]]; then
        PROBE_DETAIL="$(head -n 1 "${WORK_DIR}/stderr" | sed -E 's/^curl: \([0-9]+\) //')"
        PROBE_DETAIL="${PROBE_DETAIL:-curl exit code ${rc}}"
        return 1
    fi
    PROBE_DETAIL="$(head -c 200 "${WORK_DIR}/body" | tr -s '\r\n\t' '   ' | cut -c1-60)"
    [[ "${PROBE_CODE}" =~ ^2[0-9][0-9]$ ]]
}

main() {
    local endpoint attempt result failures=0
    parse_args "$@"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-health.XXXXXX")"

    printf 'SpaceTime VR health check: %s (timeout %ss, %s)\n\n' \
        "${BASE_URL}" "${TIMEOUT}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '%-24s %-6s %-5s %8s  %s\n' "ENDPOINT" "RESULT" "HTTP" "TIME_MS" "DETAIL"
    printf '%-24s %-6s %-5s %8s  %s\n' "------------------------" "------" "-----" "--------" "------"

    for endpoint in "${ENDPOINTS[@]}"; do
        attempt=0
        while :; do
            if probe "${endpoint}"; then
                result="OK"
                break
            fi
            result="FAIL"
            attempt=$((attempt + 1))
            [[ "${attempt}" -le "${RETRIES}" ]] || break
            sleep "${RETRY_DELAY}"
        done
        [[ "${result}" == "OK" ]] || failures=$((failures + 1))
        printf '%-24s %-6s %-5s %8s  %s\n' "${endpoint}" "${result}" "${PROBE_CODE}" "${PROBE_MS}" "${PROBE_DETAIL}"
    done

    printf '\n'
    if [[ "${failures}" -gt 0 ]]; then
        printf 'UNHEALTHY: %d of %d checks failed\n' "${failures}" "${#ENDPOINTS[@]}"
        exit 1
    fi
    printf 'HEALTHY: all %d checks passed\n' "${#ENDPOINTS[@]}"
}

main "$@"
