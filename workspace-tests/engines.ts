import { mkdirSync, symlinkSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh, tempDir } from './workspace';

export const BASE_IMAGE = 'spacetime-test-base:busybox';

/**
 * A local base image (base images cannot be pulled here): `docker import` of a root file
 * system holding Debian's busybox-static and its applet links. Made once per engine.
 */
export function localBaseImage(): string {
  if (sh('/', `docker image inspect ${BASE_IMAGE} >/dev/null 2>&1`).status === 0) return BASE_IMAGE;
  if (!existsSync('/bin/busybox')) throw new Error('busybox-static is not installed (sudo bash tools/install-toolchain.sh)');
  const root = join(tempDir('base-rootfs'), 'rootfs');
  for (const d of ['bin', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  for (const applet of ['sh', 'cat', 'echo', 'ls', 'id', 'sleep']) symlinkSync('busybox', join(root, 'bin', applet));
  const r = sh(root, `chmod 1777 tmp && tar --numeric-owner --owner=0 --group=0 -c . | docker import -c 'ENV PATH=/bin' - ${BASE_IMAGE}`);
  if (r.status !== 0) throw new Error(`cannot make the base image: ${r.output}`);
  return BASE_IMAGE;
}

export function requireTool(command: string, install: string): void {
  if (sh('/', `command -v ${command}`).status !== 0)
    throw new Error(`${command} is not installed: ${install} (tools/install-toolchain.sh installs it)`);
}
