// The hostile corpus: variants of ONE genuine built package (its .tar.gz, .zip and folder, with
// the public key beside them) that the standalone verifier must refuse, each with exit 1 and a
// FAIL line naming the entry or field. Every generator derives its cases from the genuine bytes.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HostileCase {
  /** The class the summary counts it under (tar, zip, bomb, manifest, signature, production, provenance). */
  kind: string;
  name: string;
  /** The verifier's arguments, the target first. */
  args: string[];
  /** At least one FAIL line must match: it names the entry or field. */
  expected: RegExp;
}

/** The genuine package the cases are made from. */
export interface Genuine {
  /** The folder holding the package folder, its archives and release-signing-key.asc. */
  release: string;
  /** `spacetime-vr-v<version>`. */
  top: string;
}

export const PUBLIC_KEY = 'release-signing-key.asc';

/** Writes each case into a folder of its own, with the genuine public key beside the package unless the case replaces it. */
export class CaseFolders {
  private used = new Set<string>();

  constructor(
    private readonly out: string,
    readonly genuine: Genuine,
  ) {}

  /** A fresh folder for a case, holding the genuine public key. */
  folder(name: string): string {
    let slug = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60);
    while (this.used.has(slug)) slug += '-';
    this.used.add(slug);
    const dir = join(this.out, slug);
    mkdirSync(dir, { recursive: true });
    cpSync(join(this.genuine.release, PUBLIC_KEY), join(dir, PUBLIC_KEY));
    return dir;
  }

  /** The case's archive, named as the genuine one is; returns its path. */
  archive(name: string, kind: 'tar.gz' | 'zip', bytes: Buffer): string {
    const file = join(this.folder(name), `${this.genuine.top}.${kind}`);
    writeFileSync(file, bytes);
    return file;
  }

  /** A copy of the genuine package folder; returns its path. */
  packageFolder(name: string): string {
    const target = join(this.folder(name), this.genuine.top);
    cpSync(join(this.genuine.release, this.genuine.top), target, { recursive: true });
    return target;
  }
}
