import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { writeGodot4StandIn } from '../libs/release-kit/test/godot-stand-in';
import { localBaseImage } from './engines';
import { tempDir } from './workspace';

/** The version the Godot 4 stand-in answers, and so the folder its export templates are looked up in. */
const STAND_IN_TEMPLATES = 'godot/export_templates/4.5.1.stable';

/**
 * An XDG data folder holding the export templates of the Godot 4 stand-in (which reads none: they
 * only need to be there), for the main preset (x86_64) and the arm64 platform preset: release:doctor
 * checks each preset's template.
 */
export function standInTemplates(): string {
  const data = tempDir('xdg-data');
  mkdirSync(join(data, STAND_IN_TEMPLATES), { recursive: true });
  for (const name of ['linux_release.x86_64', 'linux_debug.x86_64', 'linux_release.arm64', 'linux_debug.arm64'])
    writeFileSync(join(data, STAND_IN_TEMPLATES, name), 'stand-in template\n');
  return data;
}

/**
 * What release:doctor asks of a machine before a production build: Godot 4 (the stand-in, through
 * GODOT_BIN) with its export templates, a base image the Docker engine has, and a release signing key.
 */
export async function productionMachine(): Promise<NodeJS.ProcessEnv> {
  const keys = tempDir('release-key');
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release Tests', email: 'tests@spacetime-vr.invalid' }],
    format: 'armored',
  });
  writeFileSync(join(keys, 'release.asc'), privateKey, { mode: 0o600 });
  return {
    GODOT_BIN: join(writeGodot4StandIn(tempDir('godot4')), 'godot'),
    XDG_DATA_HOME: standInTemplates(),
    BASE_IMAGE: localBaseImage(),
    RELEASE_SIGNING_KEY: join(keys, 'release.asc'),
  };
}
