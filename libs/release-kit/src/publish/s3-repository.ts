import { createHash, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ReleaseError } from '../support/errors';
import { ArtifactRepository, Comparison, LocalFile, PutRequest, PutResult, StoredObject } from './artifact-repository';
import { multipartUpload } from './multipart-upload';
import { withRetry } from './retry';

/**
 * Metadata key of the full-file SHA-256 (sent as `x-amz-meta-sha256`), for people and other tools.
 * Publish never trusts it: anyone who rewrites an object can keep it.
 */
export const SHA256_METADATA = 'sha256';

/** The store's SHA-256 checksum of a multipart object: one per part, and the SHA-256 of their digests. */
interface PartChecksums {
  composite: string;
  parts: Array<{ size: number; sha256: string }>;
}

/**
 * The S3 client: credentials from the SDK's standard chain (env, profile, SSO, instance role);
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible stores, which get path-style
 * addressing (or with S3_FORCE_PATH_STYLE=true). Checksums only where an operation requires them:
 * S3-compatible servers reject the SDK's default trailing checksums. Retries are ours (withRetry).
 */
export function s3Client(env: NodeJS.ProcessEnv): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint,
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' || Boolean(endpoint),
    // Keys in the given environment win; otherwise the SDK's chain (which reads process.env itself).
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

export class S3Repository implements ArtifactRepository {
  readonly location: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly log: (line: string) => void,
  ) {
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async checkAccess(): Promise<void> {
    try {
      await this.client.config.credentials();
    } catch (e) {
      throw new ReleaseError(`no AWS credentials found for ${this.location} (${(e as Error).message})`, {
        file: 'ARTIFACT_REPO',
        hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE',
      });
    }
    try {
      await withRetry(`HeadBucket ${this.bucket}`, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })), this.log);
    } catch (e) {
      throw this.explain(e, `bucket ${this.bucket}`);
    }
  }

  async probeWrite(): Promise<void> {
    const key = this.key(`.publish-probe-${randomBytes(6).toString('hex')}`);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: 'probe\n' }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      throw this.explain(e, `a test write to s3://${this.bucket}/${key}`);
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await withRetry(
        `HeadObject ${key}`,
        () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) })),
        this.log,
      );
      return { size: out.ContentLength ?? 0 };
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw this.explain(e, `s3://${this.bucket}/${this.key(key)}`);
    }
  }

  /**
   * Same bytes, proven from the bytes: the SHA-256 checksum S3 computed and checked when the object
   * was written (whole object, or each part of a multipart upload and their composite), else a
   * streamed download and hash (a store that keeps no SHA-256 checksum, as s3rver). Never the
   * `x-amz-meta-sha256` metadata.
   */
  async compare(key: string, local: LocalFile): Promise<Comparison | undefined> {
    let out;
    try {
      out = await withRetry(
        `HeadObject ${key}`,
        () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key), ChecksumMode: 'ENABLED' })),
        this.log,
      );
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw this.explain(e, `s3://${this.bucket}/${this.key(key)}`);
    }
    if ((out.ContentLength ?? 0) !== local.size) return { same: false, by: 'size' };
    const checksum = out.ChecksumSHA256;
    if (checksum && !/-\d+$/.test(checksum) && out.ChecksumType !== 'COMPOSITE')
      return { same: checksum === Buffer.from(local.sha256, 'hex').toString('base64'), by: 'checksum' };
    if (checksum) {
      const parts = await this.partChecksums(key);
      const same = parts && (await matchesParts(local, parts));
      if (same !== undefined) return { same, by: 'checksum' };
    }
    return { same: (await this.hashContent(key)) === local.sha256, by: 'content' };
  }

  /** The per-part SHA-256 checksums of a multipart object, or undefined where the store does not tell them. */
  private async partChecksums(key: string): Promise<PartChecksums | undefined> {
    const parts: PartChecksums['parts'] = [];
    let composite: string | undefined;
    let marker: string | undefined;
    try {
      for (;;) {
        const out = await withRetry(
          `GetObjectAttributes ${key}`,
          () =>
            this.client.send(
              new GetObjectAttributesCommand({
                Bucket: this.bucket,
                Key: this.key(key),
                ObjectAttributes: ['Checksum', 'ObjectParts'],
                MaxParts: 1000,
                PartNumberMarker: marker,
              }),
            ),
          this.log,
        );
        composite ??= out.Checksum?.ChecksumSHA256;
        for (const part of out.ObjectParts?.Parts ?? []) {
          if (!part.ChecksumSHA256 || part.Size === undefined) return undefined;
          parts.push({ size: part.Size, sha256: part.ChecksumSHA256 });
        }
        if (!out.ObjectParts?.IsTruncated) break;
        marker = out.ObjectParts.NextPartNumberMarker;
      }
    } catch {
      return undefined; // not every store answers GetObjectAttributes: the download decides
    }
    return composite && parts.length ? { composite, parts } : undefined;
  }

  async hashContent(key: string): Promise<string> {
    try {
      return await withRetry(
        `GetObject ${key}`,
        async () => {
          const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
          const hash = createHash('sha256');
          for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
          return hash.digest('hex');
        },
        this.log,
      );
    } catch (e) {
      throw this.explain(e, `s3://${this.bucket}/${this.key(key)}`);
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      const out = await withRetry(
        `GetObject ${key}`,
        () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) })),
        this.log,
      );
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (e) {
      if (status(e) === 404 || (e as Error).name === 'NoSuchKey') return undefined;
      throw this.explain(e, `s3://${this.bucket}/${this.key(key)}`);
    }
  }

  async put(request: PutRequest): Promise<PutResult> {
    const Key = this.key(request.key);
    const common = {
      Bucket: this.bucket,
      Key,
      Metadata: { [SHA256_METADATA]: request.sha256 },
      ...(request.acl ? { ACL: request.acl } : {}),
    };
    try {
      if (request.size > request.partSize) {
        return await multipartUpload(this.client, {
          ...common,
          file: request.file,
          size: request.size,
          partSize: request.partSize,
          log: request.log,
        });
      }
      const body = await readFile(request.file);
      const checksum = Buffer.from(request.sha256, 'hex').toString('base64');
      await withRetry(
        `PutObject ${request.key}`,
        () =>
          this.client.send(
            new PutObjectCommand({
              ...common,
              Body: body,
              ContentLength: body.length,
              ChecksumAlgorithm: 'SHA256',
              ChecksumSHA256: checksum,
            }),
          ),
        this.log,
      );
      return { parts: 1 };
    } catch (e) {
      if (e instanceof ReleaseError) throw e;
      throw this.explain(e, `uploading s3://${this.bucket}/${Key}`);
    }
  }

  /** One line for an S3 failure, by what a user can do about it. */
  private explain(error: unknown, what: string): ReleaseError {
    const e = error as Error & { code?: string; Code?: string };
    const code = status(error);
    const name = e.name === 'Unknown' || /^\d+$/.test(e.name) ? undefined : e.name;
    if (code === 404 || name === 'NoSuchBucket')
      return new ReleaseError(`${what}: the bucket ${this.bucket} does not exist`, {
        file: 'ARTIFACT_REPO',
        hint: 'create it, or point ARTIFACT_REPO (or --artifactRepo) at an existing bucket',
      });
    if (code === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied') {
      return new ReleaseError(`${what}: access denied${name ? ` (${name})` : ''}: the credentials are wrong or lack permission`, {
        file: 'ARTIFACT_REPO',
        hint: 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket policy',
      });
    }
    if (e.code)
      return new ReleaseError(`${what}: cannot reach the S3 endpoint (${e.code}: ${e.message})`, {
        file: 'ARTIFACT_REPO',
        hint: 'check AWS_ENDPOINT_URL / the network',
      });
    return new ReleaseError(`${what} failed: ${name ?? 'HTTP ' + code}: ${e.message}`, { file: 'ARTIFACT_REPO' });
  }
}

/**
 * Whether the local file has the store's part checksums (each part's SHA-256, and the SHA-256 of
 * their digests); undefined when the parts do not add up to the file, so that the download decides.
 */
async function matchesParts(local: LocalFile, checksums: PartChecksums): Promise<boolean | undefined> {
  if (checksums.parts.reduce((sum, p) => sum + p.size, 0) !== local.size) return undefined;
  const digests: Buffer[] = [];
  const file = await open(local.file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  try {
    let position = 0;
    for (const part of checksums.parts) {
      const hash = createHash('sha256');
      for (let left = part.size; left > 0;) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, left), position);
        if (bytesRead === 0) return undefined;
        hash.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
        left -= bytesRead;
      }
      const digest = hash.digest();
      if (digest.toString('base64') !== part.sha256) return false;
      digests.push(digest);
    }
  } finally {
    await file.close();
  }
  return createHash('sha256').update(Buffer.concat(digests)).digest('base64') === checksums.composite.replace(/-\d+$/, '');
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
