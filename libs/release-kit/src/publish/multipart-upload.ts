import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CompletedPart,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { withRetry } from './retry';

/** S3's smallest part (all but the last) and largest part count. */
export const MIN_PART_SIZE = 5 << 20;
export const MAX_PARTS = 10_000;

export interface MultipartRequest {
  Bucket: string;
  Key: string;
  Metadata: Record<string, string>;
  ACL?: 'public-read';
  file: string;
  size: number;
  partSize: number;
  log: (line: string) => void;
}

/**
 * Uploads a file in parts read from disk one at a time into one reused buffer (memory stays at
 * one part whatever the file size), each with its SHA-256 so that S3 checks every part. Uploads
 * of the same key left by an interrupted run are aborted first, where the server can list them.
 */
export async function multipartUpload(client: S3Client, r: MultipartRequest): Promise<{ parts: number }> {
  const partSize = Math.max(r.partSize, MIN_PART_SIZE, Math.ceil(r.size / MAX_PARTS));
  const count = Math.ceil(r.size / partSize);
  await abortStaleUploads(client, r.Bucket, r.Key, r.log);
  const created = await withRetry(
    `CreateMultipartUpload ${r.Key}`,
    () =>
      client.send(
        new CreateMultipartUploadCommand({ Bucket: r.Bucket, Key: r.Key, Metadata: r.Metadata, ACL: r.ACL, ChecksumAlgorithm: 'SHA256' }),
      ),
    r.log,
  );
  const UploadId = created.UploadId!;
  const file = await open(r.file, 'r');
  const buffer = Buffer.allocUnsafe(partSize);
  const parts: CompletedPart[] = [];
  const started = Date.now();
  try {
    for (let n = 1; n <= count; n++) {
      const offset = (n - 1) * partSize;
      const length = Math.min(partSize, r.size - offset);
      await readFully(file, buffer, length, offset);
      const body = buffer.subarray(0, length);
      const checksum = createHash('sha256').update(body).digest('base64');
      const out = await withRetry(
        `part ${n}/${count} of ${r.Key}`,
        () =>
          client.send(
            new UploadPartCommand({
              Bucket: r.Bucket,
              Key: r.Key,
              UploadId,
              PartNumber: n,
              Body: body,
              ContentLength: length,
              ChecksumSHA256: checksum,
            }),
          ),
        r.log,
      );
      parts.push({ PartNumber: n, ETag: out.ETag, ChecksumSHA256: checksum });
      const done = offset + length;
      const seconds = (Date.now() - started) / 1000;
      r.log(`  ${r.Key}: part ${n}/${count}, ${mib(done)}/${mib(r.size)} MiB${seconds > 0 ? `, ${mib(done / seconds)} MiB/s` : ''}`);
    }
    await withRetry(
      `CompleteMultipartUpload ${r.Key}`,
      () => client.send(new CompleteMultipartUploadCommand({ Bucket: r.Bucket, Key: r.Key, UploadId, MultipartUpload: { Parts: parts } })),
      r.log,
    );
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: r.Bucket, Key: r.Key, UploadId })).catch(() => undefined);
    throw error;
  } finally {
    await file.close();
  }
  return { parts: count };
}

async function abortStaleUploads(client: S3Client, Bucket: string, Key: string, log: (line: string) => void): Promise<void> {
  let uploads;
  try {
    uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }))).Uploads ?? [];
  } catch {
    return; // not every S3-compatible server lists uploads (s3rver does not); a new upload replaces them
  }
  for (const upload of uploads) {
    if (upload.Key !== Key || !upload.UploadId) continue;
    log(`  aborting an unfinished upload of ${Key} (started ${upload.Initiated?.toISOString() ?? 'earlier'})`);
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId })).catch(() => undefined);
  }
}

async function readFully(file: import('node:fs/promises').FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let read = 0;
  while (read < length) {
    const { bytesRead } = await file.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + read}`);
    read += bytesRead;
  }
}

function mib(n: number): string {
  return (n / (1 << 20)).toFixed(1);
}
