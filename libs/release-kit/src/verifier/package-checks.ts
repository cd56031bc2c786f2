import { parseSha256Sums } from '../format/checksums';
import { packageFolderName, ROOT_FILES, UNCHECKSUMMED, UNMANIFESTED } from '../format/layout';
import { DEVELOPMENT_KEY_USER, Manifest, octalMode, SigningMode } from '../format/manifest';
import { showName } from './entry-name';
import { parseManifest } from './manifest-shape';
import { PackageContents } from './package-contents';
import { verifySignature } from './signature';

export interface PackageCheckOptions {
  /** Section folders the package must hold, besides those MANIFEST.json names. */
  sections?: string[];
  /** The armored public key, or undefined when none was found (a failure). */
  publicKey: string | undefined;
  publicKeyName: string;
  /** The fingerprint the key that made the signature must have (upper-case hex). */
  fingerprint?: string;
  /** A development package (configuration or signing key) is a failure. */
  requireProduction?: boolean;
}

export interface PackageFacts {
  version?: string;
  /** The primary fingerprint of the key that made the signature. */
  fingerprint?: string;
  /** The exact (sub)key that made it, when it is not the primary key. */
  signingKey?: string;
  /** From MANIFEST.json, once its shape was checked. */
  configuration?: Manifest['configuration'];
  commit?: string;
  signing?: { mode: SigningMode; fingerprint: string; development: boolean };
}

/**
 * The recipient's checks on a package, read from a folder or an archive alike: layout, every
 * SHA256SUMS line both ways, the signature, MANIFEST.json's shape and then the manifest against
 * the files, the version against the top folder's name, the configuration when production is required.
 */
export async function checkPackage(
  contents: PackageContents,
  options: PackageCheckOptions,
  fail: (line: string) => void,
): Promise<PackageFacts> {
  const facts: PackageFacts = {};
  for (const file of Object.values(ROOT_FILES)) if (!contents.files.has(file)) fail(`layout: ${file} is missing`);

  let signedBy: string | undefined;
  const sums = contents.roots.get(ROOT_FILES.checksums);
  if (sums) {
    checkSums(sums.toString('utf8'), contents, fail);
    const signature = contents.roots.get(ROOT_FILES.signature);
    if (!signature) fail(`signature: ${ROOT_FILES.signature} is missing`);
    else if (options.publicKey === undefined)
      fail(`signature: no public key to check ${ROOT_FILES.signature} with (${options.publicKeyName} is missing; pass --key)`);
    else {
      const result = await verifySignature(sums, signature.toString('utf8'), options.publicKey, options.fingerprint);
      if (!result.valid)
        fail(
          `signature: ${ROOT_FILES.signature} is not a valid signature of ${ROOT_FILES.checksums} ` +
            `by ${options.publicKeyName} (${result.reason})`,
        );
      else signedBy = result.fingerprint;
      if (result.valid && options.requireProduction && result.userIds?.some((id) => id.includes(DEVELOPMENT_KEY_USER.email)))
        fail(`signature: made by a development signing key (${result.fingerprint}); --require-production accepts only a release key`);
      facts.fingerprint = result.fingerprint;
      if (result.signingKey && result.signingKey !== result.fingerprint) facts.signingKey = result.signingKey;
    }
  }

  const manifestData = contents.roots.get(ROOT_FILES.manifest);
  const manifest = manifestData && parseManifest(manifestData, fail);
  if (manifest) {
    facts.version = manifest.version;
    facts.configuration = manifest.configuration;
    facts.commit = manifest.git_commit;
    facts.signing = { mode: manifest.signing.mode, fingerprint: manifest.signing.fingerprint, development: manifest.signing.development };
    checkManifest(manifest, contents, fail);
    if (signedBy && manifest.signing.fingerprint !== signedBy)
      fail(`MANIFEST.json: signing.fingerprint ${manifest.signing.fingerprint} is not the key that signed SHA256SUMS (${signedBy})`);
  }
  const manifestSections = new Set((manifest?.sections ?? []).map((s) => s.name));
  const sections = new Set([...(options.sections ?? []), ...manifestSections]);
  for (const section of sections) if (!contents.folders.has(section)) fail(`layout: the section folder ${section}/ is missing`);
  for (const folder of contents.emptyFolders ?? [])
    if (!sections.has(folder)) fail(`${showName(`${contents.top}/${folder}`)}/: a folder that no file implies and no section names`);
  if (options.requireProduction) {
    if (!manifest) fail('configuration: unknown (MANIFEST.json is missing or unreadable); --require-production needs a production package');
    else if (manifest.configuration !== 'production' || manifest.signing.development)
      fail(
        `configuration: a development package (MANIFEST.json: configuration "${manifest.configuration}", ` +
          `signing mode "${manifest.signing.mode}"); --require-production accepts only a production package`,
      );
  }
  return facts;
}

function checkSums(text: string, contents: PackageContents, fail: (line: string) => void): void {
  let listed;
  try {
    listed = parseSha256Sums(text, ROOT_FILES.checksums);
  } catch (e) {
    fail((e as Error).message.split('\n')[0]);
    return;
  }
  const seen = new Set<string>();
  for (const { path, sha256 } of listed) {
    seen.add(path);
    const facts = contents.files.get(path);
    if (!facts) fail(`SHA256SUMS: ./${showName(path)} is listed but missing`);
    else if (facts.sha256 !== sha256) fail(`SHA256SUMS: ./${showName(path)} does not match its checksum`);
  }
  for (const path of contents.files.keys())
    if (!UNCHECKSUMMED.has(path) && !seen.has(path)) fail(`SHA256SUMS: ./${showName(path)} is not listed`);
}

function checkManifest(manifest: Manifest, contents: PackageContents, fail: (line: string) => void): void {
  if (contents.top !== packageFolderName(manifest.version))
    fail(`MANIFEST.json: version ${showName(manifest.version)} does not match the folder name ${showName(contents.top)}`);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const [path, entry] of listed) {
    const facts = contents.files.get(path);
    if (!facts) fail(`MANIFEST.json: ${showName(path)} is listed but missing`);
    else if (facts.size !== entry.size || facts.sha256 !== entry.sha256)
      fail(`MANIFEST.json: ${showName(path)} differs from its size or sha256`);
    else if (octalMode(facts.mode) !== entry.mode)
      fail(`MANIFEST.json: ${showName(path)} has mode ${octalMode(facts.mode)}, the manifest says ${entry.mode}`);
  }
  for (const path of contents.files.keys())
    if (!UNMANIFESTED.has(path) && !listed.has(path)) fail(`MANIFEST.json: ${showName(path)} is not listed`);
}
