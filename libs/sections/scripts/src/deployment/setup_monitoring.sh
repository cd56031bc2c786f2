#!/usr/bin/env bash
# SpaceTime VR - install the monitoring configuration of this release package.
#
# Publishes the package's monitoring/ folder to the cluster:
#   monitoring/prometheus/*.yml (prometheus.yml, alerts.yml)
#       -> ConfigMap prometheus-config    (mount at Prometheus' config directory)
#   monitoring/prometheus/rules/*.yml
#       -> ConfigMap prometheus-rules     (mount at <config directory>/rules, so
#          rule_files entries such as "rules/*.yml" resolve unchanged)
#   monitoring/grafana/dashboards/*.json
#       -> ConfigMap grafana-dashboards   (label grafana_dashboard=1, picked up
#          by the Grafana dashboard sidecar)
#   monitoring/grafana/datasources/*.yaml (if present)
#       -> ConfigMap grafana-datasources  (label grafana_datasource=1)
#   monitoring/alertmanager/config.yml (or --alertmanager-config FILE)
#   + monitoring/alertmanager/templates/*.tmpl
#       -> Secret alertmanager-config     (keys alertmanager.yml and *.tmpl)
#   PAGERDUTY_ROUTING_KEY, SLACK_WEBHOOK_URL, SLACK_INFO_WEBHOOK_URL (from the
#   environment, or each from the file named by <NAME>_FILE)
#       -> Secret alertmanager-receivers  (keys pagerduty-routing-key,
#          slack-webhook-url, slack-info-webhook-url: the files the receivers of
#          monitoring/alertmanager/config.yml read; mount the Secret at
#          /etc/alertmanager/secrets/alertmanager-receivers)
# Everything is validated first (promtool, amtool, JSON) when the tools exist.
# No secret value is ever printed.

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
readonly FIELD_MANAGER="spacetime-setup-monitoring"

MONITORING_DIR="${PACKAGE_ROOT}/monitoring"
NAMESPACE="monitoring"
KUBE_CONTEXT=""
ALERTMANAGER_CONFIG=""
DRY_RUN=false
SKIP_VALIDATION=false
SKIP_ALERTMANAGER=false
RESTART=false
WORK_DIR=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options]

Validate the monitoring configuration shipped in this package and apply it to
the cluster as ConfigMaps (Prometheus, Grafana) and a Secret (Alertmanager).

Receiver secrets (required unless --skip-alertmanager; SLACK_INFO_WEBHOOK_URL
defaults to SLACK_WEBHOOK_URL), each from the environment or from the file
that <NAME>_FILE names:
  PAGERDUTY_ROUTING_KEY        PagerDuty Events API v2 integration key (critical, production)
  SLACK_WEBHOOK_URL            Slack incoming webhook of #spacetime-vr-alerts
  SLACK_INFO_WEBHOOK_URL       Slack incoming webhook of #spacetime-vr-info
They become the Secret alertmanager-receivers; mount it in the Alertmanager pod at
/etc/alertmanager/secrets/alertmanager-receivers (Prometheus Operator: list it in
the Alertmanager's spec.secrets).

Options:
  -n, --namespace NAME         Target namespace (default: ${NAMESPACE}); created if missing.
  --monitoring-dir DIR         Monitoring folder to publish (default: <package>/monitoring).
  --alertmanager-config FILE   Alertmanager configuration to use instead of
                               monitoring/alertmanager/config.yml (one with receivers of your own).
  --skip-alertmanager          Do not publish the Alertmanager configuration.
  --skip-validation            Do not run promtool / amtool / JSON checks.
  --restart                    Restart the prometheus, alertmanager and grafana workloads
                               in the namespace afterwards (when they exist).
  --dry-run                    Validate and print the objects, apply nothing.
  --context NAME               kubectl context to use (default: the current context).
  -h, --help                   Show this help.

Examples:
  ${SCRIPT_NAME} --dry-run
  PAGERDUTY_ROUTING_KEY_FILE=/run/secrets/pd SLACK_WEBHOOK_URL_FILE=/run/secrets/slack ${SCRIPT_NAME} --restart

Exit status: 0 applied, 1 validation or apply failed, 2 usage error.
EOF
}


cleanup() {
    if [[ -n "${WORK_DIR}" && -d "${WORK_DIR}" ]]; then
        rm -rf "${WORK_DIR}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kc() {
    if [[ -n "${KUBE_CONTEXT}" ]]; then
        kubectl --context "${KUBE_CONTEXT}" "$@"
    else
        kubectl "$@"
    fi
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            -n|--namespace)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 requires a value"
                NAMESPACE="$2"; shift 2 ;;
            --monitoring-dir)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--monitoring-dir requires a value"
                MONITORING_DIR="$2"; shift 2 ;;
            --alertmanager-config)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--alertmanager-config requires a value"
                ALERTMANAGER_CONFIG="$2"; shift 2 ;;
            --skip-alertmanager) SKIP_ALERTMANAGER=true; shift ;;
            --skip-validation) SKIP_VALIDATION=true; shift ;;
            --restart) RESTART=true; shift ;;
            --dry-run) DRY_RUN=true; shift ;;
            --context)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--context requires a value"
                KUBE_CONTEXT="$2"; shift 2 ;;
            *) usage_error "unexpected argument: $1" ;;
        esac
    done

    [[ "${NAMESPACE}" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || usage_error "invalid namespace '${NAMESPACE}'"
    [[ -d "${MONITORING_DIR}" ]] || die "monitoring folder not found: ${MONITORING_DIR}"
    [[ -f "${MONITORING_DIR}/prometheus/prometheus.yml" ]] \
        || die "missing ${MONITORING_DIR}/prometheus/prometheus.yml"
    if [[ "${SKIP_ALERTMANAGER}" == false ]]; then
        ALERTMANAGER_CONFIG="${ALERTMANAGER_CONFIG:-${MONITORING_DIR}/alertmanager/config.yml}"
        [[ -f "${ALERTMANAGER_CONFIG}" ]] || die "Alertmanager configuration not found: ${ALERTMANAGER_CONFIG} (or pass --skip-alertmanager)"
    fi
    command -v kubectl >/dev/null 2>&1 || die "kubectl is required but was not found in PATH"
}

# Prometheus configuration files (top level of monitoring/prometheus/), one per line.
prometheus_files() {
    glob_files "${MONITORING_DIR}/prometheus" yml yaml
}

# Prometheus rule files (monitoring/prometheus/rules/), one per line.
rule_files() {
    glob_files "${MONITORING_DIR}/prometheus/rules" yml yaml
}

glob_files() {
    # glob_files <dir> <extension>...
    local dir="$1" ext f
    shift
    for ext in "$@"; do
        for f in "${dir}"/*."${ext}"; do
            [[ -f "${f}" ]] && printf '%s\n' "${f}"
        done
    done
    return 0
}

validate() {
    local f output rules=() failed=0
    if [[ "${SKIP_VALIDATION}" == true ]]; then
        warn "validation skipped (--skip-validation)"
        return 0
    fi

    if command -v promtool >/dev/null 2>&1; then
        log "promtool: checking prometheus.yml (syntax) and rule files"
        if ! output="$(promtool check config --syntax-only "${MONITORING_DIR}/prometheus/prometheus.yml" 2>&1)"; then
            if grep -q 'field kubernetes_sd_configs not found' <<<"${output}"; then
                # Distribution builds (e.g. Debian's) leave Kubernetes service
                # discovery out; the upstream Prometheus image supports it.
                warn "this promtool build has no Kubernetes service discovery: prometheus.yml not validated (use the upstream promtool)"
            else
                printf '%s\n' "${output}" >&2
                failed=1
            fi
        else
            printf '%s\n' "${output}"
        fi
        while IFS= read -r f; do
            [[ "${f}" == */prometheus.yml ]] || rules+=("${f}")
        done < <(prometheus_files; rule_files)
        if [[ ${#rules[@]} -gt 0 ]]; then
            promtool check rules "${rules[@]}" || failed=1
        fi
    else
        warn "promtool not found: Prometheus configuration not validated"
    fi

    if [[ "${SKIP_ALERTMANAGER}" == false ]]; then
        if command -v amtool >/dev/null 2>&1; then
            log "amtool: checking ${ALERTMANAGER_CONFIG}"
            amtool check-config "${ALERTMANAGER_CONFIG}" || failed=1
        else
            warn "amtool not found: Alertmanager configuration not validated"
        fi
    fi

    if command -v python3 >/dev/null 2>&1; then
        while IFS= read -r f; do
            if ! python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "${f}" 2>/dev/null; then
                printf '%s: error: invalid JSON in dashboard %s\n' "${SCRIPT_NAME}" "${f}" >&2
                failed=1
            fi
        done < <(glob_files "${MONITORING_DIR}/grafana/dashboards" json)
    else
        warn "python3 not found: Grafana dashboards not validated"
    fi

    [[ "${failed}" -eq 0 ]] || die "monitoring configuration is invalid; nothing was applied"
    log "Validation passed"
}

# Receiver secret files: Secret key, the variable that holds the value, and the
# variable whose value is used when it is unset ("" for none).
readonly RECEIVER_SECRETS=(
    "pagerduty-routing-key PAGERDUTY_ROUTING_KEY"
    "slack-webhook-url SLACK_WEBHOOK_URL"
    "slack-info-webhook-url SLACK_INFO_WEBHOOK_URL SLACK_WEBHOOK_URL"
)

# secret_value <NAME>: the value of NAME, or the content of the file NAME_FILE
# names (one trailing newline dropped). Fails, naming the variable only.
secret_value() {
    local name="$1" file_var="$1_FILE" value
    if [[ -n "${!name:-}" ]]; then
        [[ -z "${!file_var:-}" ]] || die "set ${name} or ${file_var}, not both"
        printf '%s' "${!name}"
    elif [[ -n "${!file_var:-}" ]]; then
        [[ -f "${!file_var}" && -r "${!file_var}" ]] || die "${file_var}: cannot read ${!file_var}"
        value="$(cat -- "${!file_var}")" || die "${file_var}: cannot read ${!file_var}"
        printf '%s' "${value}"
    fi
}

# Writes each receiver secret to <dir>/<key> (mode 0600) and lists the files.
write_receiver_secrets() {
    local dir="$1" entry key name fallback value missing=()
    (umask 077 && mkdir -p "${dir}")
    for entry in "${RECEIVER_SECRETS[@]}"; do
        read -r key name fallback <<<"${entry}"
        value="$(secret_value "${name}")"
        [[ -n "${value}" || -z "${fallback}" ]] || value="$(secret_value "${fallback}")"
        if [[ -z "${value}" ]]; then
            missing+=("${name}")
            continue
        fi
        [[ "${value}" != *$'\n'* ]] || die "${name} holds more than one line"
        if [[ "${key}" == slack-* && ! "${value}" =~ ^https?:// ]]; then
            die "${name} is not an http(s) URL (value not shown)"
        fi
        (umask 077 && printf '%s' "${value}" > "${dir}/${key}")
        printf '%s\n' "${dir}/${key}"
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        if [[ "${DRY_RUN}" == true ]]; then
            warn "receiver secrets not set: ${missing[*]} (the Secret alertmanager-receivers is left out of this dry run)"
            return 0
        fi
        die "receiver secrets not set: ${missing[*]} (set each, or <NAME>_FILE to a file holding it; see --help)"
    fi
}

# build_object <configmap|secret> <name> <list file> [label=value...] > manifest
# Each file of the list becomes one key (its base name); duplicate keys are refused.
build_object() {
    local kind="$1" name="$2" list="$3" f key keys=" "
    local -a args=()
    shift 3
    while IFS= read -r f; do
        key="${f##*/}"
        if [[ "${keys}" == *" ${key} "* ]]; then
            die "two files would share the key '${key}' in ${kind} ${name}: rename one of them"
        fi
        keys="${keys}${key} "
        args+=("--from-file=${key}=${f}")
    done < "${list}"
    [[ ${#args[@]} -gt 0 ]] || die "no files for ${kind} ${name}"

    if [[ "${kind}" == "secret" ]]; then
        kubectl create secret generic "${name}" --namespace "${NAMESPACE}" "${args[@]}" --dry-run=client -o yaml
    else
        kubectl create configmap "${name}" --namespace "${NAMESPACE}" "${args[@]}" --dry-run=client -o yaml
    fi | kubectl label --local -f - -o yaml \
        app.kubernetes.io/part-of=spacetime-vr \
        app.kubernetes.io/component=monitoring \
        app.kubernetes.io/managed-by="${FIELD_MANAGER}" "$@"
}

build_manifests() {
    local out="${WORK_DIR}/monitoring.yaml" placeholders

    prometheus_files > "${WORK_DIR}/prometheus.list"
    rule_files > "${WORK_DIR}/rules.list"
    glob_files "${MONITORING_DIR}/grafana/dashboards" json > "${WORK_DIR}/dashboards.list"
    glob_files "${MONITORING_DIR}/grafana/datasources" yaml yml > "${WORK_DIR}/datasources.list"

    : > "${out}"
    log "ConfigMap prometheus-config: $(wc -l < "${WORK_DIR}/prometheus.list") file(s)"
    build_object configmap prometheus-config "${WORK_DIR}/prometheus.list" >> "${out}"

    if [[ -s "${WORK_DIR}/rules.list" ]]; then
        log "ConfigMap prometheus-rules: $(wc -l < "${WORK_DIR}/rules.list") rule file(s)"
        printf -- '---\n' >> "${out}"
        build_object configmap prometheus-rules "${WORK_DIR}/rules.list" >> "${out}"
    fi

    if [[ -s "${WORK_DIR}/dashboards.list" ]]; then
        log "ConfigMap grafana-dashboards: $(wc -l < "${WORK_DIR}/dashboards.list") dashboard(s)"
        printf -- '---\n' >> "${out}"
        build_object configmap grafana-dashboards "${WORK_DIR}/dashboards.list" grafana_dashboard=1 >> "${out}"
    else
        warn "no Grafana dashboards in ${MONITORING_DIR}/grafana/dashboards"
    fi

    if [[ -s "${WORK_DIR}/datasources.list" ]]; then
        log "ConfigMap grafana-datasources: $(wc -l < "${WORK_DIR}/datasources.list") file(s)"
        printf -- '---\n' >> "${out}"
        build_object configmap grafana-datasources "${WORK_DIR}/datasources.list" grafana_datasource=1 >> "${out}"
    fi

    if [[ "${SKIP_ALERTMANAGER}" == false ]]; then
        placeholders="$(grep -v '^[[:space:]]*#' "${ALERTMANAGER_CONFIG}" | grep -oE '<[A-Z][A-Z0-9_]*>' | sort -u || true)"
        if [[ -n "${placeholders}" ]]; then
            if [[ "${DRY_RUN}" == true ]]; then
                warn "Alertmanager configuration still contains placeholders: $(paste -sd ' ' - <<<"${placeholders}")"
            else
                die "Alertmanager configuration ${ALERTMANAGER_CONFIG} still contains placeholders ($(paste -sd ' ' - <<<"${placeholders}")); pass a filled-in copy with --alertmanager-config or use --skip-alertmanager"
            fi
        fi
        # The key must be alertmanager.yml whatever the source file is called.
        cp "${ALERTMANAGER_CONFIG}" "${WORK_DIR}/alertmanager.yml"
        {
            printf '%s\n' "${WORK_DIR}/alertmanager.yml"
            glob_files "${MONITORING_DIR}/alertmanager/templates" tmpl
        } > "${WORK_DIR}/alertmanager.list"
        log "Secret alertmanager-config: alertmanager.yml + $(( $(wc -l < "${WORK_DIR}/alertmanager.list") - 1 )) template(s)"
        printf -- '---\n' >> "${out}"
        build_object secret alertmanager-config "${WORK_DIR}/alertmanager.list" >> "${out}"

        write_receiver_secrets "${WORK_DIR}/receivers" > "${WORK_DIR}/receivers.list"
        if [[ -s "${WORK_DIR}/receivers.list" ]]; then
            log "Secret alertmanager-receivers: $(wc -l < "${WORK_DIR}/receivers.list") receiver secret file(s)"
            printf -- '---\n' >> "${out}"
            build_object secret alertmanager-receivers "${WORK_DIR}/receivers.list" >> "${out}"
        fi
    fi
}

restart_workloads() {
    local workload restarted=0
    for workload in deployment/prometheus statefulset/prometheus \
                    deployment/alertmanager statefulset/alertmanager \
                    deployment/grafana; do
        if kc -n "${NAMESPACE}" get "${workload}" >/dev/null 2>&1; then
            log "Restarting ${workload}"
            kc -n "${NAMESPACE}" rollout restart "${workload}"
            kc -n "${NAMESPACE}" rollout status "${workload}" --timeout=5m
            restarted=1
        fi
    done
    [[ "${restarted}" -eq 1 ]] || warn "no prometheus/alertmanager/grafana workload found in namespace ${NAMESPACE}"
}

main() {
    parse_args "$@"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-monitoring.XXXXXX")"

    log "Publishing ${MONITORING_DIR} to namespace ${NAMESPACE} (dry-run=${DRY_RUN})"
    validate
    build_manifests

    if [[ "${DRY_RUN}" == true ]]; then
        log "Dry run: objects that would be applied:"
        awk '/^kind:/ { kind = $2 } /^  name:/ && kind != "" { print "    " kind "/" $2; kind = "" }' "${WORK_DIR}/monitoring.yaml"
        log "Nothing was applied"
        exit 0
    fi

    log "Context: $(kc config current-context 2>/dev/null || printf 'unknown')"
    kc create namespace "${NAMESPACE}" --dry-run=client -o yaml \
        | kc apply --server-side --field-manager="${FIELD_MANAGER}" -f - >/dev/null \
        || die "cannot create or read namespace ${NAMESPACE}"
    # Server-side apply: dashboards easily exceed the 256 KiB limit of the
    # last-applied-configuration annotation used by client-side apply.
    kc apply --server-side --force-conflicts --field-manager="${FIELD_MANAGER}" \
        -f "${WORK_DIR}/monitoring.yaml" || die "kubectl apply failed"

    if [[ "${RESTART}" == true ]]; then
        restart_workloads
    else
        log "Configuration applied. Prometheus and Alertmanager pick it up on their next reload (POST /-/reload) or restart (--restart)."
    fi
    log "Monitoring setup complete"
}

main "$@"
