import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, ReadEntry } from 'tar';
import { ReleaseError } from '../support/errors';

/**
 * The operating system packages an image's layers install, from the package databases scanners
 * read: dpkg's `var/lib/dpkg/status` (and distroless' `var/lib/dpkg/status.d/*`), apk's
 * `lib/apk/db/installed`, and `os-release` for the distribution. Layers are read in order with
 * their whiteouts, so a file a later layer removes or replaces counts as that layer leaves it.
 */

export interface OsPackage {
  name: string;
  version: string;
  architecture?: string;
  /** The source package, when it is another. */
  source?: string;
  /** Package URL: pkg:deb/debian/busybox-static@1%3A1.35.0-4?arch=arm64&distro=debian-12. */
  purl: string;
  /** The database it was read from. */
  database: string;
}

export interface OsFacts {
  /** os-release: ID, VERSION_ID, PRETTY_NAME. */
  distribution?: { id: string; versionId?: string; name?: string };
  packages: OsPackage[];
  /** Databases found, by path. */
  databases: string[];
}

const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';
const APK_INSTALLED = 'lib/apk/db/installed';
const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];

function wanted(path: string): boolean {
  return (
    path === DPKG_STATUS ||
    path === APK_INSTALLED ||
    OS_RELEASE.includes(path) ||
    (path.startsWith(DPKG_STATUS_D) && !path.endsWith('.md5sums') && path.length > DPKG_STATUS_D.length)
  );
}

/** Reads the layers (tar or tar+gzip blobs), lowest first; `where` names the image for errors. */
export async function readOsFacts(layers: Array<{ file: string; digest: string }>, where: string): Promise<OsFacts> {
  const files = new Map<string, string>();
  for (const layer of layers) {
    const found = new Map<string, string>();
    const removed: string[] = [];
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const path = posix.normalize(entry.path).replace(/^\/+/, '').replace(/\/$/, '');
        const name = posix.basename(path);
        if (name.startsWith('.wh.'))
          removed.push(name === '.wh..wh..opq' ? `${posix.dirname(path)}/` : posix.join(posix.dirname(path), name.slice(4)));
        if (entry.type !== 'File' || !wanted(path)) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => found.set(path, Buffer.concat(chunks).toString('utf8')));
      },
    });
    await pipeline(createReadStream(layer.file), parser).catch((e: Error) => {
      throw new ReleaseError(`its layer ${layer.digest} is not a tar this build reads (tar, tar+gzip): ${e.message}`, { file: where });
    });
    for (const r of removed)
      for (const path of [...files.keys()]) if (path === r || (r.endsWith('/') && path.startsWith(r))) files.delete(path);
    for (const [path, text] of found) files.set(path, text);
  }
  const osRelease = OS_RELEASE.map((p) => files.get(p)).find((t) => t !== undefined);
  const distribution = osRelease ? readOsRelease(osRelease) : undefined;
  const packages: OsPackage[] = [];
  const databases: string[] = [];
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (path === DPKG_STATUS || path.startsWith(DPKG_STATUS_D)) {
      databases.push(path);
      packages.push(...dpkgPackages(text, path, distribution, path === DPKG_STATUS));
    } else if (path === APK_INSTALLED) {
      databases.push(path);
      packages.push(...apkPackages(text, path, distribution));
    }
  }
  return { distribution, packages, databases };
}

function readOsRelease(text: string): OsFacts['distribution'] {
  const fields = Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=("?)(.*)\2$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1], m[3]]),
  );
  return fields.ID ? { id: fields.ID, versionId: fields.VERSION_ID, name: fields.PRETTY_NAME ?? fields.NAME } : undefined;
}

/** Control-file stanzas: `Field: value`, continuation lines start with white space, stanzas end at a blank line. */
function stanzas(text: string): Array<Record<string, string>> {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const fields: Record<string, string> = {};
      let last = '';
      for (const line of block.split('\n')) {
        const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
        if (m) fields[(last = m[1].toLowerCase())] = m[2];
        else if (/^\s/.test(line) && last) fields[last] += `\n${line.trim()}`;
      }
      return fields;
    })
    .filter((f) => f.package);
}

function purl(type: 'deb' | 'apk', name: string, version: string, arch: string | undefined, distribution: OsFacts['distribution']): string {
  const namespace = distribution?.id ?? type;
  const qualifiers = [
    ...(arch ? [`arch=${encodeURIComponent(arch)}`] : []),
    ...(distribution ? [`distro=${encodeURIComponent([distribution.id, distribution.versionId].filter(Boolean).join('-'))}`] : []),
  ];
  const query = qualifiers.length ? `?${qualifiers.join('&')}` : '';
  return `pkg:${type}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}@${encodeURIComponent(version)}${query}`;
}

function dpkgPackages(text: string, database: string, distribution: OsFacts['distribution'], hasStatus: boolean): OsPackage[] {
  return stanzas(text)
    .filter((s) => !hasStatus || (/\binstalled$/.test(s.status ?? '') && !/^deinstall|^purge/.test(s.status ?? '')))
    .map((s) => {
      const source = s.source?.split(' ')[0];
      return {
        name: s.package,
        version: s.version ?? '',
        architecture: s.architecture,
        ...(source && source !== s.package ? { source } : {}),
        purl: purl('deb', s.package, s.version ?? '', s.architecture, distribution),
        database,
      };
    });
}

function apkPackages(text: string, database: string, distribution: OsFacts['distribution']): OsPackage[] {
  const records = text.split(/\n\s*\n/).map((block) => {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) if (line[1] === ':') fields[line[0]] = line.slice(2);
    return fields;
  });
  return records
    .filter((r) => r.P && r.V)
    .map((r) => ({
      name: r.P,
      version: r.V,
      architecture: r.A,
      ...(r.o && r.o !== r.P ? { source: r.o } : {}),
      purl: purl('apk', r.P, r.V, r.A, distribution),
      database,
    }));
}
