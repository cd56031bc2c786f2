// Round trip of the SHIPPED database scripts (migration/migrate_database.sh,
// maintenance/backup.sh, maintenance/restore.sh) against a real, throwaway
// PostgreSQL cluster: initdb in a fresh temp dir as the `postgres` OS user,
// unix socket in that dir only (no TCP), stopped and removed in test.after.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const WORKSPACE = join(__dirname, '..', '..', '..');
const SCRIPTS = join(WORKSPACE, 'libs/sections/scripts/src');
const MIGRATE = join(SCRIPTS, 'migration/migrate_database.sh');
const BACKUP = join(SCRIPTS, 'maintenance/backup.sh');
const RESTORE = join(SCRIPTS, 'maintenance/restore.sh');
const MIGRATIONS = readdirSync(join(SCRIPTS, 'migration/sql'))
  .filter((f) => f.endsWith('.sql'))
  .sort();

const ROLE = 'spacetime';
const PASSWORD = 'round-trip-Secret_1';

/** PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian/Ubuntu layout). */
function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => /^\d+$/.test(d) && existsSync(join(base, d, 'bin/initdb'))) : [];
  if (majors.length === 0)
    throw new Error(`no PostgreSQL server found in ${base}/<major>/bin (install the postgresql package or set PG_BIN)`);
  return join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

const cluster = { dir: '', data: '', port: 0, bin: '', started: false };

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG') && k !== 'DATABASE_URL'));
  return spawnSync(command, args, {
    encoding: 'utf8',
    cwd: cluster.dir || tmpdir(),
    env: { ...clean, PATH: `${cluster.bin}:${process.env.PATH}`, TZ: 'UTC', LC_ALL: 'C', ...env },
    maxBuffer: 1 << 26,
  });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

/** Runs a command as the `postgres` OS user (we run as root; postgres refuses root). */
const asPostgres = (command: string, args: string[]): string =>
  must(run('runuser', ['-u', 'postgres', '--', join(cluster.bin, command), ...args]), command);

/** psql as the cluster superuser (trust on the private socket). */
const superSql = (database: string, sql: string): string =>
  must(
    run(join(cluster.bin, 'psql'), [
      '--no-psqlrc',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-tA',
      '-h',
      cluster.dir,
      '-p',
      String(cluster.port),
      '-U',
      'postgres',
      '-d',
      database,
      '-c',
      sql,
    ]),
    `psql ${sql}`,
  ).trim();

/** The URL the scripts get: password auth (scram) over the temp dir's unix socket. */
const url = (database: string): string => `postgresql://${ROLE}:${PASSWORD}@/${database}?host=${cluster.dir}&port=${cluster.port}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function stopCluster(): void {
  if (cluster.started) {
    cluster.started = false;
    run('runuser', ['-u', 'postgres', '--', join(cluster.bin, 'pg_ctl'), '-D', cluster.data, '-m', 'immediate', '-w', 'stop']);
  }
  if (cluster.dir) {
    rmSync(cluster.dir, { recursive: true, force: true });
    cluster.dir = '';
  }
}
process.on('exit', stopCluster); // last resort if the runner dies before test.after

test.before(async () => {
  cluster.bin = postgresBin();
  cluster.port = await freePort();
  cluster.dir = mkdtempSync(join(tmpdir(), 'pg-scripts-'));
  cluster.data = join(cluster.dir, 'data');
  const pw = must(run('id', ['-u', 'postgres']), 'id -u postgres').trim();
  const gid = must(run('id', ['-g', 'postgres']), 'id -g postgres').trim();
  chownSync(cluster.dir, Number(pw), Number(gid));

  asPostgres('initdb', ['-D', cluster.data, '-U', 'postgres', '--auth-local=trust', '--auth-host=reject', '-E', 'UTF8', '--locale=C']);
  // Superuser only by trust; every other role must authenticate with a password.
  writeFileSync(join(cluster.data, 'pg_hba.conf'), 'local all postgres trust\nlocal all all scram-sha-256\n');
  appendFileSync(
    join(cluster.data, 'postgresql.conf'),
    `\nlisten_addresses = ''\nport = ${cluster.port}\nunix_socket_directories = '${cluster.dir}'\n` +
      "fsync = off\npassword_encryption = 'scram-sha-256'\n",
  );
  asPostgres('pg_ctl', ['-D', cluster.data, '-l', join(cluster.dir, 'server.log'), '-w', '-t', '60', 'start']);
  cluster.started = true;

  superSql('postgres', `CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
  superSql('postgres', `CREATE DATABASE spacetime_vr OWNER ${ROLE}`);
  superSql('postgres', `CREATE DATABASE spacetime_restored OWNER ${ROLE}`);
});

test.after(stopCluster);

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('migrate_database.sh applies every shipped migration, and a second run applies nothing', () => {
  assert.ok(MIGRATIONS.length >= 3, `migrations: ${MIGRATIONS}`);
  const first = run('bash', [MIGRATE], { DATABASE_URL: url('spacetime_vr') });
  assert.is(first.status, 0, `first run failed:\n${first.stdout}\n${first.stderr}`);
  for (const file of MIGRATIONS) assert.match(first.stdout, `Applied  ${file.replace(/\.sql$/, '')}`);
  assert.match(first.stdout, `Done: ${MIGRATIONS.length} migration(s) applied, ${MIGRATIONS.length} in total.`);
  assert.not.match(first.stdout + first.stderr, PASSWORD, 'the password is never logged');

  const rows = superSql('spacetime_vr', 'SELECT version, name, checksum, applied_by FROM public.schema_migrations ORDER BY version').split(
    '\n',
  );
  assert.equal(
    rows,
    MIGRATIONS.map((f) => {
      const [, version, name] = /^(\d{3})_(.+)\.sql$/.exec(f) ?? [];
      return `${version}|${name}|${sha256(join(SCRIPTS, 'migration/sql', f))}|${ROLE}`;
    }),
  );
  assert.ok(Number(superSql('spacetime_vr', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) > MIGRATIONS.length);

  const second = run('bash', [MIGRATE, '--database-url', url('spacetime_vr')]);
  assert.is(second.status, 0, `second run failed:\n${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, `Database is up to date: no pending migrations (${MIGRATIONS.length} applied). Nothing to do.`);
  assert.not.match(second.stdout, 'Applying');
  assert.is(superSql('spacetime_vr', 'SELECT count(*) FROM public.schema_migrations'), String(MIGRATIONS.length));

  const status = run('bash', [MIGRATE, '--status'], { DATABASE_URL: url('spacetime_vr') });
  assert.is(status.status, 0, status.stderr);
  assert.is((status.stdout.match(/ applied /g) ?? []).length, MIGRATIONS.length, status.stdout);
});

/** pg_dump --data-only without pg_dump's per-run random \restrict / \unrestrict keys. */
function dataOf(database: string): string {
  const out = must(
    run(join(cluster.bin, 'pg_dump'), [
      '--data-only',
      '--no-owner',
      '-h',
      cluster.dir,
      '-p',
      String(cluster.port),
      '-U',
      'postgres',
      '-d',
      database,
    ]),
    `pg_dump ${database}`,
  );
  return out
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}

test('backup.sh then restore.sh into an empty database gives identical data', () => {
  superSql(
    'spacetime_vr',
    `INSERT INTO players (username, email, password_hash, display_name, vr_headset, total_play_seconds)
    VALUES ('ada', 'ada@example.org', crypt('pw-ada', gen_salt('bf', 4)), 'Ada', 'quest3', 3600),
           ('grace.h', 'grace@example.org', crypt('pw-grace', gen_salt('bf', 4)), 'Grace Hopper', NULL, 0)`,
  );
  assert.is(superSql('spacetime_vr', 'SELECT count(*) FROM players'), '2');

  const dump = join(cluster.dir, 'backups', 'before-upgrade.dump');
  const backup = run('bash', [BACKUP, '--database-url', url('spacetime_vr'), dump]);
  assert.is(backup.status, 0, `backup failed:\n${backup.stdout}\n${backup.stderr}`);
  assert.is(backup.stdout.trim().split('\n').pop(), dump, 'the last line printed is the dump path');
  assert.ok(existsSync(dump) && existsSync(`${dump}.sha256`));
  assert.is(readFileSync(`${dump}.sha256`, 'utf8'), `${sha256(dump)}  before-upgrade.dump\n`);
  assert.not.ok(existsSync(`${dump}.partial`));

  assert.is(superSql('spacetime_restored', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0');
  const restore = run('bash', [RESTORE, '--require-checksum', dump], { DATABASE_URL: url('spacetime_restored') });
  assert.is(restore.status, 0, `restore failed:\n${restore.stdout}\n${restore.stderr}`);
  assert.match(restore.stdout, 'Checksum OK');
  assert.match(restore.stdout, `Schema version: ${MIGRATIONS[MIGRATIONS.length - 1].slice(0, 3)}`);

  const original = dataOf('spacetime_vr');
  assert.match(original, 'grace@example.org');
  assert.fixture(dataOf('spacetime_restored'), original);
  assert.is(superSql('spacetime_restored', "SELECT display_name FROM players WHERE password_hash = crypt('pw-ada', password_hash)"), 'Ada');

  // A second restore into the now non-empty database is refused without --yes.
  const again = run('bash', [RESTORE, dump], { DATABASE_URL: url('spacetime_restored') });
  assert.is(again.status, 1, `${again.stdout}\n${again.stderr}`);
  assert.match(again.stderr, 'the target database is not empty');
});

test.run();
