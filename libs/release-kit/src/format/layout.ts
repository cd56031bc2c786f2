/** The package's fixed names and layout (spec "Package Structure"; DESIGN.md "Contract"). */
export const PACKAGE_NAME = 'spacetime-vr';

export function packageFolderName(version: string): string {
  return `${PACKAGE_NAME}-v${version}`;
}

export const ROOT_FILES = {
  releaseNotes: 'RELEASE_NOTES.md',
  checklist: 'DEPLOYMENT_CHECKLIST.md',
  manifest: 'MANIFEST.json',
  checksums: 'SHA256SUMS',
  signature: 'SHA256SUMS.asc',
} as const;

/** Files SHA256SUMS does not list: itself and its signature. */
export const UNCHECKSUMMED = new Set<string>([ROOT_FILES.checksums, ROOT_FILES.signature]);
/** Files MANIFEST.json does not list: itself and what is made after it. */
export const UNMANIFESTED = new Set<string>([ROOT_FILES.manifest, ...UNCHECKSUMMED]);

export const PUBLIC_KEY_FILE = 'release-signing-key.asc';

/**
 * Files the assembler makes inside a section's folder (the answered security checklist). The
 * archives hold a folder entry for each folder a section ships, but none for a folder that only
 * such a file implies: the verifier accepts that folder without its entry.
 */
/** The answered security checklist, which assemble writes into the security section. */
export const SECURITY_CHECKLIST_FILE = 'security/reports/security-checklist.md';
export const MADE_SECTION_FILES = new Set<string>([SECURITY_CHECKLIST_FILE]);

export function archiveNames(version: string) {
  const base = packageFolderName(version);
  return { tarGz: `${base}.tar.gz`, zip: `${base}.zip` };
}

/** The signed provenance attestation of the package `<top>/` and its archives, beside them (docs/provenance.md). */
export function attestationName(top: string): string {
  return `${top}.intoto.jsonl`;
}
