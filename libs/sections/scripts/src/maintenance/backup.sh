#!/usr/bin/env bash
# SpaceTime VR - database backup.
#
# pg_dump (custom format) of DATABASE_URL to a file, or to a timestamped file
# in a directory. The dump is written under a temporary name, verified with
# `pg_restore --list`, renamed, and a <dump>.sha256 file is written beside it
# (check it with `sha256sum -c <dump>.sha256` from the same directory).

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"

DATABASE_URL="${DATABASE_URL:-}"
DESTINATION="${BACKUP_DIR:-./backups}"
COMPRESS_LEVEL=6
KEEP=""
FORCE=false
PARTIAL_FILE=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] [DESTINATION]

Back up the SpaceTime VR PostgreSQL database with pg_dump (custom format).

DESTINATION is either a file (e.g. /backups/before-2.5.0.dump) or a directory
(existing, or given with a trailing slash) in which a file named
<database>_<UTC timestamp>.dump is created. Default: \$BACKUP_DIR or ./backups

Options:
  --database-url URL   PostgreSQL connection URL (default: \$DATABASE_URL).
  --compress N         pg_dump compression level 0-9 (default: ${COMPRESS_LEVEL}).
  --keep N             Directory mode only: afterwards keep the newest N backups of this
                       database in the directory and delete older ones.
  --force              Overwrite DESTINATION if it is an existing file.
  -h, --help           Show this help.

Outputs: <dump> and <dump>.sha256. The last line printed is the dump's path.
Exit status: 0 success, 1 backup or verification failed, 2 usage error.
EOF
}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2; exit 1; }
usage_error() {
    printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2
    printf "Run '%s --help' for usage.\n" "${SCRIPT_NAME}" >&2
    exit 2
}

cleanup() {
    if [[ -n "${PARTIAL_FILE}" && -f "${PARTIAL_FILE}" ]]; then
        rm -f "${PARTIAL_FILE}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redact_url() {
    sed -E 's#(://[^:/@]*):[^@]*@#\1:****@#' <<<"$1"
}

sha256_line() {
    # sha256_line <file in current directory>: "<hex>  <file>"
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1"
    else
        shasum -a 256 -- "$1"
    fi
}

# Database name from the URL path, reduced to a safe file-name fragment.
database_name() {
    local name="${1%%\?*}"
    name="${name##*/}"
    name="$(tr -c 'A-Za-z0-9_.-' '_' <<<"${name}")"
    name="${name%_}"
    printf '%s\n' "${name:-database}"
}

human_size() {
    awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u); i = 1; while (b >= 1024 && i < 5) { b /= 1024; i++ } fmt = (i == 1) ? "%d %s\n" : "%.1f %s\n"; printf fmt, b, u[i] }'
}

parse_args() {
    local positional=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --database-url)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--database-url requires a value"
                DATABASE_URL="$2"; shift 2 ;;
            --database-url=*) DATABASE_URL="${1#*=}"; shift ;;
            --compress)
                [[ $# -ge 2 ]] || usage_error "--compress requires a value"
                COMPRESS_LEVEL="$2"; shift 2 ;;
            --keep)
                [[ $# -ge 2 ]] || usage_error "--keep requires a value"
                KEEP="$2"; shift 2 ;;
            --force) FORCE=true; shift ;;
            --) shift; positional+=("$@"); break ;;
            -*) usage_error "unknown option: $1" ;;
            *) positional+=("$1"); shift ;;
        esac
    done
    [[ ${#positional[@]} -le 1 ]] || usage_error "only one DESTINATION may be given"
    [[ ${#positional[@]} -eq 0 ]] || DESTINATION="${positional[0]}"

    [[ -n "${DATABASE_URL}" ]] || usage_error "no database: set DATABASE_URL or pass --database-url"
    [[ "${DATABASE_URL}" =~ ^postgres(ql)?:// ]] || usage_error "DATABASE_URL must be a postgresql:// URL"
    [[ "${COMPRESS_LEVEL}" =~ ^[0-9]$ ]] || usage_error "--compress must be a number from 0 to 9"
    [[ -z "${KEEP}" || "${KEEP}" =~ ^[1-9][0-9]*$ ]] || usage_error "--keep must be a positive integer"
    local tool
    for tool in pg_dump pg_restore; do
        command -v "${tool}" >/dev/null 2>&1 || die "${tool} is required but was not found in PATH (install the PostgreSQL client)"
    done
}

prune_old_backups() {
    # prune_old_backups <directory> <database name>
    local dir="$1" db="$2" old
    local -a backups=()
    while IFS= read -r old; do
        backups+=("${old}")
    done < <(find "${dir}" -maxdepth 1 -type f -name "${db}_????????T??????Z.dump" | LC_ALL=C sort -r)
    if [[ ${#backups[@]} -le ${KEEP} ]]; then
        return 0
    fi
    for old in "${backups[@]:${KEEP}}"; do
        log "Deleting old backup ${old}"
        rm -f -- "${old}" "${old}.sha256"
    done
}

main() {
    local db target dir base toc entries size directory_mode=false

    parse_args "$@"
    umask 077  # dumps hold player data: owner-only

    db="$(database_name "${DATABASE_URL}")"
    if [[ -d "${DESTINATION}" || "${DESTINATION}" == */ ]]; then
        directory_mode=true
        mkdir -p -- "${DESTINATION}"
        dir="$(cd "${DESTINATION}" && pwd)"
        base="${db}_$(date -u +%Y%m%dT%H%M%SZ).dump"
    else
        [[ -z "${KEEP}" ]] || usage_error "--keep needs a directory DESTINATION"
        dir="$(dirname -- "${DESTINATION}")"
        mkdir -p -- "${dir}"
        dir="$(cd "${dir}" && pwd)"
        base="$(basename -- "${DESTINATION}")"
    fi
    target="${dir}/${base}"
    if [[ -e "${target}" && "${FORCE}" == false ]]; then
        die "${target} already exists (use --force to overwrite)"
    fi

    log "Backing up $(redact_url "${DATABASE_URL}")"
    log "Destination ${target}"
    PARTIAL_FILE="${target}.partial"
    PGAPPNAME="${PGAPPNAME:-spacetime-backup}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" \
        pg_dump --format=custom --compress="${COMPRESS_LEVEL}" \
        --file="${PARTIAL_FILE}" --dbname="${DATABASE_URL}" \
        || die "pg_dump failed; no backup was written"

    # A dump pg_restore cannot list is unusable: never keep it under the final name.
    toc="$(pg_restore --list "${PARTIAL_FILE}")" \
        || die "verification failed: pg_restore cannot read ${PARTIAL_FILE}"
    entries="$(grep -cvE '^(;|$)' <<<"${toc}" || true)"
    [[ "${entries}" -gt 0 ]] || die "verification failed: the dump contains no objects"

    mv -f -- "${PARTIAL_FILE}" "${target}"
    PARTIAL_FILE=""
    (cd "${dir}" && sha256_line "${base}" > "${base}.sha256") \
        || die "could not write ${target}.sha256"

    size="$(wc -c < "${target}" | tr -d ' ')"
    log "Backup verified: ${entries} archive entries, $(human_size "${size}")"
    log "Checksum: ${target}.sha256 ($(cut -d' ' -f1 "${target}.sha256"))"

    if [[ "${directory_mode}" == true && -n "${KEEP}" ]]; then
        prune_old_backups "${dir}" "${db}"
    fi
    printf '%s\n' "${target}"
}

main "$@"
