import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './workspace';

export interface RegistryServer {
  /** host:port, as DOCKER_REGISTRY takes it. */
  address: string;
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Debian's docker-registry (distribution) on a free loopback port with its own storage.
 * `readOnly` makes it refuse every push while still answering /v2/.
 */
export async function startRegistry(options: { readOnly?: boolean } = {}): Promise<RegistryServer> {
  const dir = tempDir('registry');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  maintenance:',
      '    readonly:',
      `      enabled: ${options.readOnly ? 'true' : 'false'}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${address}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { address, stop: () => child.kill('SIGTERM') };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not start on ${address}: ${log}`);
}
