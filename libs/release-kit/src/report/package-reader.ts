import { existsSync } from 'node:fs';
import { ROOT_FILES } from '../format/layout';
import { Manifest, ManifestFile } from '../format/manifest';
import { ReleaseError } from '../support/errors';
import { packageKind, verifyPackage } from '../verifier/verify-package';

/** A release package as the diff and the report see it, whatever it was read from. */
export interface ReleasePackage {
  /** Where it was read from, as the user named it. */
  source: string;
  manifest: Manifest;
  /** Package-relative path → what MANIFEST.json says of the file. */
  files: Map<string, ManifestFile>;
  /** Contents of the files the caller asked for (see `wanted`), by package-relative path. */
  contents: Map<string, Buffer>;
  /** The primary fingerprint of the key that signed it, and the key file it was checked with. */
  signedBy: { fingerprint: string; keyFile: string };
}

/**
 * Reads a package folder or archive through the verifier, as a recipient would: it is verified
 * first (safe entry names, the canonical archive form, every checksum, the signature against the
 * key beside it), and nothing is extracted to disk. Returns MANIFEST.json and the `wanted` files.
 */
export async function readPackage(path: string, wanted: (path: string) => boolean, source = path): Promise<ReleasePackage> {
  if (!existsSync(path)) throw new ReleaseError('no such package folder or archive', { file: source });
  const kind = packageKind(path);
  if (!kind) throw new ReleaseError('not a package folder, .tar.gz or .zip', { file: source });
  const report = await verifyPackage(path, kind, { wanted });
  if (report.failures.length || !report.contents || !report.fingerprint) {
    const shown = report.failures.slice(0, 10).map((f) => `\n  - ${f}`);
    const more = report.failures.length > 10 ? `\n  - ... ${report.failures.length - 10} more` : '';
    throw new ReleaseError(`does not verify, so it is not read:${shown.join('')}${more}`, {
      file: source,
      hint: `check it with \`node verify-release.mjs ${source}\`; only a package that verifies can be compared`,
    });
  }
  const kept = report.contents.roots;
  const manifest = JSON.parse(kept.get(ROOT_FILES.manifest)!.toString('utf8')) as Manifest;
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  const contents = new Map([...kept].filter(([p]) => p !== ROOT_FILES.manifest && files.has(p) && wanted(p)));
  return { source, manifest, files, contents, signedBy: { fingerprint: report.fingerprint, keyFile: report.key.file } };
}
