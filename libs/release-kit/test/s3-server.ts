import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver's one account. It checks the access key ID, not V4 signatures. */
export const S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

export interface S3Server {
  endpoint: string;
  /** Environment for the publish: endpoint, credentials, region. */
  env: NodeJS.ProcessEnv;
  client: S3Client;
  close(): Promise<void>;
}

// In its own process: a test that waits on a child synchronously (spawnSync of nx) must not stall it.
const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [directory, buckets] = [process.argv[1], JSON.parse(process.argv[2])];
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) })
  .run()
  .then((address) => console.log(JSON.stringify({ port: address.port })));
`;

/** A real S3-protocol server (s3rver) on a free loopback port, storing under `directory`. */
export async function startS3Server(directory: string, buckets: string[]): Promise<S3Server> {
  const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, directory, JSON.stringify(buckets)], {
    cwd: join(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = /^\{.*\}$/m.exec(out);
      if (line) resolve(JSON.parse(line[0]).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { ...S3_CREDENTIALS, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { endpoint, env, client, close };
}

export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

export async function getObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await out.Body!.transformToByteArray()), metadata: out.Metadata ?? {} };
}

export async function putObject(client: S3Client, bucket: string, key: string, body: string | Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Downloads every object under `prefix` into `dir` (keys relative to the prefix). */
export async function downloadAll(client: S3Client, bucket: string, prefix: string, dir: string): Promise<string[]> {
  const keys = await listKeys(client, bucket, prefix);
  for (const key of keys) {
    const file = join(dir, key.slice(prefix.length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, (await getObject(client, bucket, key)).body);
  }
  return keys;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
