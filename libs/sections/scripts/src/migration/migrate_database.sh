#!/usr/bin/env bash
# SpaceTime VR - apply database schema migrations.
#
# Applies sql/NNN_<name>.sql (numbered sequentially from 001, no gaps) in
# order against DATABASE_URL with psql. Each migration runs in its own
# transaction together with the row that records it in
# public.schema_migrations, so a failed migration leaves no trace and can be
# fixed and re-run. Applied migrations are skipped: running the script twice
# applies nothing the second time. An applied migration whose file changed
# afterwards is reported and stops the run.

set -euo pipefail

readonly SCRIPT_NAME="${0##*/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib/common.sh
source "${SCRIPT_DIR}/../lib/common.sh"
# Any constant shared by every migrator of this database: serialises concurrent runs.
readonly ADVISORY_LOCK_ID=7277701
readonly MIGRATION_PATTERN='^([0-9]{3})_([a-z0-9_]+)\.sql$'

DATABASE_URL="${DATABASE_URL:-}"
MIGRATIONS_DIR="${SCRIPT_DIR}/sql"
MODE="apply"
WORK_DIR=""

usage() {
    cat <<EOF
Usage: ${SCRIPT_NAME} [options]

Apply the pending SpaceTime VR schema migrations (${MIGRATIONS_DIR#"${SCRIPT_DIR}/"}/NNN_<name>.sql) in order.

Options:
  --database-url URL     PostgreSQL connection URL (default: \$DATABASE_URL),
                         e.g. postgresql://spacetime:<password>@postgres:5432/spacetime_vr
  --migrations-dir DIR   Folder holding the NNN_<name>.sql files (default: ${MIGRATIONS_DIR}).
  --dry-run              List the migrations that would be applied; change nothing.
  --status               Show every migration and whether it is applied; change nothing.
  -h, --help             Show this help.

The password can also come from ~/.pgpass or PGPASSWORD instead of the URL.

Exit status: 0 success (or nothing to do), 1 a migration or check failed, 2 usage error.
EOF
}


cleanup() {
    if [[ -n "${WORK_DIR}" && -d "${WORK_DIR}" ]]; then
        rm -rf "${WORK_DIR}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Hides the password of a connection URL in log output.
redact_url() {
    sed -E 's#(://[^:/@]*):[^@]*@#\1:****@#' <<<"$1"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    else
        shasum -a 256 "$1" | awk '{ print $1 }'
    fi
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --database-url)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--database-url requires a value"
                DATABASE_URL="$2"; shift 2 ;;
            --database-url=*) DATABASE_URL="${1#*=}"; shift ;;
            --migrations-dir)
                [[ $# -ge 2 && -n "$2" ]] || usage_error "--migrations-dir requires a value"
                MIGRATIONS_DIR="$2"; shift 2 ;;
            --dry-run)
                [[ "${MODE}" == "apply" ]] || usage_error "--dry-run and --status are mutually exclusive"
                MODE="dry-run"; shift ;;
            --status)
                [[ "${MODE}" == "apply" ]] || usage_error "--dry-run and --status are mutually exclusive"
                MODE="status"; shift ;;
            *) usage_error "unexpected argument: $1" ;;
        esac
    done
    [[ -n "${DATABASE_URL}" ]] || usage_error "no database: set DATABASE_URL or pass --database-url"
    [[ "${DATABASE_URL}" =~ ^postgres(ql)?:// ]] || usage_error "DATABASE_URL must be a postgresql:// URL"
    [[ -d "${MIGRATIONS_DIR}" ]] || die "migrations folder not found: ${MIGRATIONS_DIR}"
    command -v psql >/dev/null 2>&1 || die "psql is required but was not found in PATH (install the PostgreSQL client)"
}

psql_base() {
    PGAPPNAME="${PGAPPNAME:-spacetime-migrate}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" \
        psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname "${DATABASE_URL}" "$@" < /dev/null
}

# query <sql>: unaligned, tuples only, '|' separated.
query() {
    psql_base --tuples-only --no-align --field-separator='|' --command "$1"
}

# Writes "<version>|<name>|<file>|<checksum>" lines to $WORK_DIR/files, checking
# names and the numbering (001, 002, ... without gaps or duplicates).
collect_migrations() {
    local path base expected=1 number
    : > "${WORK_DIR}/files"
    while IFS= read -r path; do
        base="${path##*/}"
        [[ "${base}" =~ ${MIGRATION_PATTERN} ]] \
            || die "unexpected file in ${MIGRATIONS_DIR}: ${base} (expected NNN_lower_snake_name.sql)"
        number=$((10#${BASH_REMATCH[1]}))
        if [[ "${number}" -ne "${expected}" ]]; then
            die "migration numbering broken at ${base}: expected $(printf '%03d' "${expected}") (numbers must start at 001 and have no gaps or duplicates)"
        fi
        printf '%s|%s|%s|%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${path}" "$(sha256_of "${path}")" \
            >> "${WORK_DIR}/files"
        expected=$((expected + 1))
    done < <(find "${MIGRATIONS_DIR}" -maxdepth 1 -type f -name '*.sql' | LC_ALL=C sort)
    [[ -s "${WORK_DIR}/files" ]] || die "no migrations found in ${MIGRATIONS_DIR}"
}

ensure_migrations_table() {
    psql_base --single-transaction \
        --command "SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_ID})" \
        --command "SET LOCAL client_min_messages = warning" \
        --command "CREATE TABLE IF NOT EXISTS public.schema_migrations (
                       version      text        PRIMARY KEY CHECK (version ~ '^[0-9]{3}$'),
                       name         text        NOT NULL,
                       checksum     text        NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
                       applied_at   timestamptz NOT NULL DEFAULT now(),
                       applied_by   text        NOT NULL DEFAULT current_user,
                       execution_ms integer     NOT NULL DEFAULT 0
                   )" \
        --command "COMMENT ON TABLE public.schema_migrations IS 'Applied by scripts/migration/migrate_database.sh; do not edit by hand.'" \
        > /dev/null
}

# Writes "<version>|<checksum>|<applied_at>" lines to $WORK_DIR/applied.
load_applied() {
    local exists
    exists="$(query "SELECT to_regclass('public.schema_migrations') IS NOT NULL")"
    if [[ "${exists}" == "t" ]]; then
        query "SELECT version, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
               FROM public.schema_migrations ORDER BY version" > "${WORK_DIR}/applied"
    else
        : > "${WORK_DIR}/applied"
    fi
}

applied_field() {
    # applied_field <version> <field number: 2 checksum, 3 applied_at>
    awk -F'|' -v v="$1" -v f="$2" '$1 == v { print $f; exit }' "${WORK_DIR}/applied"
}

# Compares files and database; writes pending migrations to $WORK_DIR/pending.
# Returns 1 when the database and the files disagree.
plan() {
    local version name path checksum recorded inconsistent=0 last_applied=""
    : > "${WORK_DIR}/pending"
    while IFS='|' read -r version name path checksum; do
        recorded="$(applied_field "${version}" 2)"
        if [[ -z "${recorded}" ]]; then
            printf '%s|%s|%s|%s\n' "${version}" "${name}" "${path}" "${checksum}" >> "${WORK_DIR}/pending"
        else
            last_applied="${version}"
            if [[ "${recorded}" != "${checksum}" ]]; then
                printf '%s: error: migration %s_%s was modified after it was applied (recorded sha256 %s, file %s). Never edit an applied migration: add a new one.\n' \
                    "${SCRIPT_NAME}" "${version}" "${name}" "${recorded}" "${checksum}" >&2
                inconsistent=1
            fi
        fi
    done < "${WORK_DIR}/files"

    if [[ -n "${last_applied}" && -s "${WORK_DIR}/pending" ]]; then
        version="$(head -n 1 "${WORK_DIR}/pending" | cut -d'|' -f1)"
        if [[ "${version}" < "${last_applied}" ]]; then
            printf '%s: error: migration %s is pending but the later migration %s is already applied\n' \
                "${SCRIPT_NAME}" "${version}" "${last_applied}" >&2
            inconsistent=1
        fi
    fi

    while IFS='|' read -r version _; do
        if ! cut -d'|' -f1 "${WORK_DIR}/files" | grep -Fxq -- "${version}"; then
            warn "migration ${version} is recorded in the database but not shipped in ${MIGRATIONS_DIR} (database from a newer release?)"
        fi
    done < "${WORK_DIR}/applied"
    return "${inconsistent}"
}

print_status() {
    local version name path checksum recorded applied_at state
    printf '%-8s %-48s %-10s %s\n' "VERSION" "NAME" "STATE" "APPLIED AT"
    while IFS='|' read -r version name path checksum; do
        recorded="$(applied_field "${version}" 2)"
        applied_at="$(applied_field "${version}" 3)"
        if [[ -z "${recorded}" ]]; then
            state="pending"; applied_at="-"
        elif [[ "${recorded}" == "${checksum}" ]]; then
            state="applied"
        else
            state="MODIFIED"
        fi
        printf '%-8s %-48s %-10s %s\n' "${version}" "${name}" "${state}" "${applied_at}"
    done < "${WORK_DIR}/files"
}

apply_migration() {
    local version="$1" name="$2" path="$3" checksum="$4" output elapsed
    log "Applying ${version}_${name}"
    # One transaction: lock, guard, migration, bookkeeping row. version, name and
    # checksum are validated by MIGRATION_PATTERN / sha256 and safe to inline.
    if ! output="$(psql_base --single-transaction --tuples-only --no-align \
            --command "SET LOCAL lock_timeout = '30s'" \
            --command "SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_ID})" \
            --command "DO \$guard\$ BEGIN
                           IF EXISTS (SELECT 1 FROM public.schema_migrations WHERE version = '${version}') THEN
                               RAISE EXCEPTION 'migration ${version} was applied concurrently by another process';
                           END IF;
                       END \$guard\$" \
            --file "${path}" \
            --command "INSERT INTO public.schema_migrations (version, name, checksum, execution_ms)
                       VALUES ('${version}', '${name}', '${checksum}',
                               (extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::integer)
                       RETURNING execution_ms")"; then
        die "migration ${version}_${name} failed and was rolled back; nothing of it was applied"
    fi
    elapsed="$(tail -n 1 <<<"${output}")"
    log "Applied  ${version}_${name} (${elapsed} ms)"
}

main() {
    local count pending_count version name path checksum

    parse_args "$@"
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/spacetime-migrate.XXXXXX")"

    collect_migrations
    count="$(wc -l < "${WORK_DIR}/files" | tr -d ' ')"

    query "SELECT 1" > /dev/null \
        || die "cannot connect to $(redact_url "${DATABASE_URL}")"
    log "Database: $(redact_url "${DATABASE_URL}")"
    log "Migrations: ${count} in ${MIGRATIONS_DIR}"

    if [[ "${MODE}" == "apply" ]]; then
        ensure_migrations_table
    fi
    load_applied

    if [[ "${MODE}" == "status" ]]; then
        print_status
        plan || exit 1
        exit 0
    fi

    plan || die "database and migration files disagree; nothing was applied"
    pending_count="$(wc -l < "${WORK_DIR}/pending" | tr -d ' ')"

    if [[ "${pending_count}" -eq 0 ]]; then
        log "Database is up to date: no pending migrations (${count} applied). Nothing to do."
        exit 0
    fi

    if [[ "${MODE}" == "dry-run" ]]; then
        log "Dry run: ${pending_count} migration(s) would be applied:"
        while IFS='|' read -r version name _; do
            printf '    %s_%s\n' "${version}" "${name}"
        done < "${WORK_DIR}/pending"
        exit 0
    fi

    while IFS='|' read -r version name path checksum; do
        apply_migration "${version}" "${name}" "${path}" "${checksum}"
    done < "${WORK_DIR}/pending"
    log "Done: ${pending_count} migration(s) applied, ${count} in total."
}

main "$@"
