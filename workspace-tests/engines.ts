import { copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

export const GODOT3_RUNTIME_IMAGE = 'spacetime-test-godot3-server:3.2.3';

/**
 * A local image holding Debian's headless Godot 3 runtime (`godot3-server`) with the shared
 * libraries it links against, on the busybox base: what a Godot 3 server image is built FROM.
 * Made once per engine with `docker import`, since no image can be pulled here.
 */
export function localGodot3RuntimeImage(): string {
  if (sh('/', `docker image inspect ${GODOT3_RUNTIME_IMAGE} >/dev/null 2>&1`).status === 0) return GODOT3_RUNTIME_IMAGE;
  const root = join(tempDir('godot3-rootfs'), 'rootfs');
  const libs = sh('/', "ldd /usr/bin/godot3-server | grep -o '/[^ ]*'").output.trim().split('\n');
  for (const d of ['bin', 'tmp', 'usr/bin']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  symlinkSync('busybox', join(root, 'bin/sh'));
  for (const file of ['/usr/bin/godot3-server', ...libs]) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    copyFileSync(realpathSync(file), join(root, file));
  }
  const r = sh(
    root,
    `chmod 1777 tmp && tar --numeric-owner --owner=0 --group=0 -c . | docker import -c 'ENV PATH=/usr/bin:/bin' - ${GODOT3_RUNTIME_IMAGE}`,
  );
  if (r.status !== 0) throw new Error(`cannot make the Godot 3 runtime image: ${r.output}`);
  return GODOT3_RUNTIME_IMAGE;
}

export function requireTool(command: string, install: string): void {
  if (sh('/', `command -v ${command}`).status !== 0)
    throw new Error(`${command} is not installed: ${install} (tools/install-toolchain.sh installs it)`);
}
