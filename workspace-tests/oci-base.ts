import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf, MEDIA_TYPES, OciLayout } from '../libs/release-kit/src/build/oci-layout';
import { tempDir } from './workspace';

/**
 * The multi-arch test base image: an OCI image layout whose index holds a linux/amd64 and a
 * linux/arm64 image, each one layer made from Debian's busybox-static package of that
 * architecture (tools/install-toolchain.sh downloads both): /bin/busybox, its applet links, /tmp,
 * os-release and the package's dpkg status entry, as a Debian base has them. No base image can be
 * pulled here. The same .deb files give the same digest.
 */

export const BASE_DEBS = '/usr/local/share/spacetime-toolchain';
const APPLETS = ['sh', 'cat', 'echo', 'ls', 'id', 'sleep', 'uname'];

export interface TestBase {
  /** oci-layout://<folder>@sha256:<index digest>: what FROM (or BASE_IMAGE) takes. */
  reference: string;
  folder: string;
  index: string;
  /** Per platform: the busybox-static version and the rootfs folder the layer was made of. */
  platforms: Record<string, { version: string; rootfs: string }>;
}

let made: TestBase | undefined;

export function busyboxBase(): TestBase {
  if (made) return made;
  const work = tempDir('busybox-base');
  const layout = new OciLayout(join(work, 'layout'));
  const manifests = [];
  const platforms: TestBase['platforms'] = {};
  for (const architecture of ['amd64', 'arm64']) {
    const deb = join(BASE_DEBS, `busybox-static_${architecture}.deb`);
    if (!existsSync(deb)) throw new Error(`${deb} is missing: run sudo bash tools/install-toolchain.sh`);
    const rootfs = join(work, architecture);
    execFileSync('dpkg-deb', ['-x', deb, rootfs]);
    const control = execFileSync('dpkg-deb', ['-f', deb]).toString();
    const version = /^Version: (.*)$/m.exec(control)![1];
    for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
    mkdirSync(join(rootfs, 'tmp'), { mode: 0o1777 });
    execFileSync('chmod', ['1777', join(rootfs, 'tmp')]);
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(
      join(rootfs, 'etc/os-release'),
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
    );
    mkdirSync(join(rootfs, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(
      join(rootfs, 'var/lib/dpkg/status'),
      `${control.trimEnd().replace(/^(Package: .*)$/m, '$1\nStatus: install ok installed')}\n`,
    );
    const tar = execFileSync(
      'bash',
      ['-c', 'tar --sort=name --mtime=@315532800 --owner=0 --group=0 --numeric-owner --format=gnu -C "$0" -c . | gzip -n -6', rootfs],
      { maxBuffer: 1 << 28 },
    );
    const diffId = digestOf(execFileSync('gzip', ['-dc'], { input: tar, maxBuffer: 1 << 28 }));
    const layer = layout.put(tar, MEDIA_TYPES.layerGzip);
    const config = layout.putJson(
      {
        architecture,
        os: 'linux',
        config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created: '1980-01-01T00:00:00Z', created_by: `busybox-static ${version} (${architecture}) from Debian` }],
      },
      MEDIA_TYPES.config,
    );
    const manifest = layout.putJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer] }, MEDIA_TYPES.manifest);
    manifests.push({ ...manifest, platform: { os: 'linux', architecture } });
    platforms[`linux/${architecture}`] = { version, rootfs };
  }
  const index = layout.putJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }, MEDIA_TYPES.index);
  layout.writeIndex([index]);
  made = { reference: `oci-layout://${layout.dir}@${index.digest}`, folder: layout.dir, index: index.digest, platforms };
  return made;
}
