import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
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
  const client = clientFor(endpoint);
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

/** Writes an object directly, as someone else would: `metadata` may copy what publish wrote (`x-amz-meta-*`). */
export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: string | Buffer,
  metadata?: Record<string, string>,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
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

/** The SHA-256 checksums a store like S3 keeps for an object: whole, or per part with their composite. */
type StoredChecksum = { full: string } | { composite: string; parts: Array<{ size: number; sha256: string }> };

export interface ChecksumStore {
  endpoint: string;
  env: NodeJS.ProcessEnv;
  client: S3Client;
  /** Downloads (GET of an object) per key, since the store started. */
  downloads: Map<string, number>;
  close(): Promise<void>;
}

/**
 * s3rver keeps no SHA-256 checksums. This stand-in sits in front of it and keeps them as S3 does,
 * computed from the bytes it passes on: a PUT with `x-amz-checksum-sha256` is refused (BadDigest)
 * when the bytes do not match and otherwise keeps it (a PUT without one keeps none: S3 would keep a
 * CRC instead); multipart parts keep theirs and the completed object their composite. HeadObject
 * with `x-amz-checksum-mode: ENABLED` returns them, and GetObjectAttributes the parts.
 */
export async function startChecksumStore(s3: S3Server): Promise<ChecksumStore> {
  const checksums = new Map<string, StoredChecksum>();
  const uploads = new Map<string, Map<number, { size: number; digest: Buffer }>>();
  const downloads = new Map<string, number>();
  const target = new URL(s3.endpoint);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url!, 'http://store');
      const path = decodeURIComponent(url.pathname);
      const query = url.searchParams;
      if (req.method === 'GET' && query.has('attributes')) return attributes(res, checksums.get(path));
      const digest = createHash('sha256').update(body).digest();
      const sent = req.headers['x-amz-checksum-sha256'];
      if (req.method === 'PUT' && sent !== undefined && sent !== digest.toString('base64')) {
        res.writeHead(400, { 'content-type': 'application/xml' });
        return res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>BadDigest</Code><Message>checksum mismatch</Message></Error>');
      }
      if (req.method === 'GET' && [...query.keys()].every((k) => k === 'x-id')) downloads.set(path, (downloads.get(path) ?? 0) + 1);
      const forwarded = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const ok = (answer.statusCode ?? 500) < 300;
          if (ok && req.method === 'PUT' && query.has('uploadId')) {
            const parts = uploads.get(query.get('uploadId')!) ?? new Map();
            parts.set(Number(query.get('partNumber')), { size: body.length, digest });
            uploads.set(query.get('uploadId')!, parts);
          } else if (ok && req.method === 'PUT') {
            if (sent !== undefined) checksums.set(path, { full: digest.toString('base64') });
            else checksums.delete(path);
          } else if (ok && req.method === 'POST' && query.has('uploadId')) {
            const parts = [...(uploads.get(query.get('uploadId')!) ?? new Map()).entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
            const composite = createHash('sha256')
              .update(Buffer.concat(parts.map((p) => p.digest)))
              .digest('base64');
            checksums.set(path, {
              composite: `${composite}-${parts.length}`,
              parts: parts.map((p) => ({ size: p.size, sha256: p.digest.toString('base64') })),
            });
          } else if (ok && req.method === 'DELETE') checksums.delete(path);
          const headers = { ...answer.headers };
          const kept = checksums.get(path);
          if (req.method === 'HEAD' && req.headers['x-amz-checksum-mode'] === 'ENABLED' && kept && ok) {
            headers['x-amz-checksum-sha256'] = 'full' in kept ? kept.full : kept.composite;
            headers['x-amz-checksum-type'] = 'full' in kept ? 'FULL_OBJECT' : 'COMPOSITE';
          }
          res.writeHead(answer.statusCode ?? 500, headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = clientFor(endpoint);
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { endpoint, env: { ...s3.env, AWS_ENDPOINT_URL: endpoint }, client, downloads, close };
}

/** GetObjectAttributes (Checksum, ObjectParts) of an object the store keeps part checksums of. */
function attributes(res: ServerResponse, kept: StoredChecksum | undefined): void {
  if (!kept || 'full' in kept) {
    res.writeHead(kept ? 200 : 404, { 'content-type': 'application/xml' });
    res.end(
      kept
        ? `<GetObjectAttributesResponse><Checksum><ChecksumSHA256>${kept.full}</ChecksumSHA256></Checksum></GetObjectAttributesResponse>`
        : '<Error><Code>NoSuchKey</Code></Error>',
    );
    return;
  }
  const parts = kept.parts
    .map((p, i) => `<Part><PartNumber>${i + 1}</PartNumber><Size>${p.size}</Size><ChecksumSHA256>${p.sha256}</ChecksumSHA256></Part>`)
    .join('');
  res.writeHead(200, { 'content-type': 'application/xml' });
  res.end(
    '<GetObjectAttributesResponse>' +
      `<Checksum><ChecksumSHA256>${kept.composite.replace(/-\d+$/, '')}</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType></Checksum>` +
      `<ObjectParts><TotalPartsCount>${kept.parts.length}</TotalPartsCount><IsTruncated>false</IsTruncated>${parts}</ObjectParts>` +
      '</GetObjectAttributesResponse>',
  );
}

/** A client of the test store at `endpoint`, set up as the publish code sets up its own. */
function clientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
