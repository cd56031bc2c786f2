#!/usr/bin/env bash
# SpaceTime VR - database restore.
#
# Restores a custom-format dump made by backup.sh into DATABASE_URL with
# `pg_restore --clean --if-exists --no-owner`, in a single transaction: either
# the whole dump is restored or the database is left as it was.
# The dump's <dump>.sha256 file is verified first when it exists. A target
# database that already holds tables is only overwritten with --yes.

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib/common.sh
source "${SCRIPT_DIR}/../lib/common.sh"

DATABASE_URL="${DATABASE_URL:-}"
DUMP_FILE=""
ASSUME_YES=false
REQUIRE_CHECKSUM=false

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options] <dump-file>

Restore a SpaceTime VR database dump (pg_dump custom format, see backup.sh).

Options:
  --database-url URL   Target PostgreSQL connection URL (default: \$DATABASE_URL).
  --yes                Required when the target database is not empty: its objects that
                       are also in the dump are dropped and replaced.
  --require-checksum   Fail if <dump-file>.sha256 does not exist (default: warn).
  -h, --help           Show this help.

Exit status: 0 restored, 1 verification or restore failed (or a non-empty target
without --yes), 2 usage error.
EOF
}


redact_url() {
    sed -E 's#(://[^:/@]*):[^@]*@#\1:****@#' <<<"$1"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | awk '{ print $1 }'
    else
        shasum -a 256 -- "$1" | awk '{ print $1 }'
    fi
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
            -y|--yes) ASSUME_YES=true; shift ;;
            --require-checksum) REQUIRE_CHECKSUM=true; shift ;;
            --) shift; positional+=("$@"); break ;;
            -*) usage_error "unknown option: $1" ;;
            *) positional+=("$1"); shift ;;
        esac
    done
    [[ ${#positional[@]} -eq 1 ]] || usage_error "exactly one <dump-file> is required"
    DUMP_FILE="${positional[0]}"

    [[ -f "${DUMP_FILE}" ]] || die "dump file not found: ${DUMP_FILE}"
    [[ -r "${DUMP_FILE}" ]] || die "dump file not readable: ${DUMP_FILE}"
    [[ -n "${DATABASE_URL}" ]] || usage_error "no database: set DATABASE_URL or pass --database-url"
    [[ "${DATABASE_URL}" =~ ^postgres(ql)?:// ]] || usage_error "DATABASE_URL must be a postgresql:// URL"
    local tool
    for tool in pg_restore psql; do
        command -v "${tool}" >/dev/null 2>&1 || die "${tool} is required but was not found in PATH (install the PostgreSQL client)"
    done
}

verify_checksum() {
    local sum_file="${DUMP_FILE}.sha256" expected actual
    if [[ ! -f "${sum_file}" ]]; then
        [[ "${REQUIRE_CHECKSUM}" == false ]] || die "checksum file not found: ${sum_file}"
        warn "no ${sum_file##*/}: the dump's integrity cannot be verified"
        return 0
    fi
    expected="$(awk 'NR == 1 { print tolower($1) }' "${sum_file}")"
    [[ "${expected}" =~ ^[0-9a-f]{64}$ ]] || die "malformed checksum file: ${sum_file}"
    actual="$(sha256_of "${DUMP_FILE}")"
    if [[ "${actual}" != "${expected}" ]]; then
        die "checksum mismatch for ${DUMP_FILE}: expected ${expected}, got ${actual}. The dump is corrupt or was modified."
    fi
    log "Checksum OK (sha256 ${actual})"
}

psql_query() {
    PGAPPNAME="${PGAPPNAME:-spacetime-restore}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" \
        psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --tuples-only --no-align \
        --dbname "${DATABASE_URL}" --command "$1" < /dev/null
}

# Number of user relations (tables, views, sequences...) outside the system schemas.
count_user_relations() {
    psql_query "SELECT count(*)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\_%'"
}

main() {
    local entries existing

    parse_args "$@"

    log "Dump: ${DUMP_FILE}"
    verify_checksum
    entries="$(pg_restore --list "${DUMP_FILE}")" \
        || die "${DUMP_FILE} is not a readable pg_dump custom-format archive"
    entries="$(grep -cvE '^(;|$)' <<<"${entries}" || true)"
    [[ "${entries}" -gt 0 ]] || die "${DUMP_FILE} contains no objects"
    log "Archive OK (${entries} entries)"

    log "Target: $(redact_url "${DATABASE_URL}")"
    existing="$(count_user_relations)" || die "cannot connect to $(redact_url "${DATABASE_URL}")"
    if [[ "${existing}" -gt 0 ]]; then
        if [[ "${ASSUME_YES}" == false ]]; then
            printf '%s: error: the target database is not empty (%s tables/views/sequences). Restoring drops and replaces every object of the dump. Re-run with --yes to confirm, or restore into an empty database.\n' \
                "${SCRIPT_NAME}" "${existing}" >&2
            exit 1
        fi
        warn "target holds ${existing} relations: objects of the dump will be dropped and replaced (--yes given)"
    fi

    log "Restoring (single transaction)"
    PGAPPNAME="${PGAPPNAME:-spacetime-restore}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" \
        pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error \
        --dbname="${DATABASE_URL}" "${DUMP_FILE}" \
        || die "pg_restore failed; the transaction was rolled back and the target is unchanged"

    log "Restore complete: $(count_user_relations) relations in the target database"
    if [[ "$(psql_query "SELECT to_regclass('public.schema_migrations') IS NOT NULL")" == "t" ]]; then
        log "Schema version: $(psql_query "SELECT coalesce(max(version), 'none') FROM public.schema_migrations")"
    fi
}

main "$@"
