import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ReleaseError } from '../support/errors';
import { ArtifactRepository, PutRequest, PutResult, StoredObject } from './artifact-repository';
import { multipartUpload } from './multipart-upload';
import { withRetry } from './retry';

/** Metadata key of the full-file SHA-256 (sent as `x-amz-meta-sha256`). */
export const SHA256_METADATA = 'sha256';

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
      return { size: out.ContentLength ?? 0, sha256: out.Metadata?.[SHA256_METADATA] };
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw this.explain(e, `s3://${this.bucket}/${this.key(key)}`);
    }
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
        () => this.client.send(new PutObjectCommand({ ...common, Body: body, ContentLength: body.length, ChecksumSHA256: checksum })),
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

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
