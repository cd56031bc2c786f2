import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { partialPathFor } from '../support/move-into-place';

/**
 * A client of the OCI distribution API (`/v2/`), what ko, crane and jib speak: manifests and blobs
 * by digest, chunked blob uploads, and the registries' token and basic authentication. A loopback
 * registry is spoken to over http, every other over https.
 */

/** Registry credentials; the password never leaves this object except in an Authorization header. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
  /** Where they came from, for messages. */
  source: string;
}

/**
 * Credentials for `registry`: DOCKER_USERNAME and DOCKER_PASSWORD, else the `auths` entry of the
 * Docker config file (DOCKER_CONFIG or ~/.docker/config.json). Credential helpers are not read.
 */
export function registryAuth(registry: string, env: NodeJS.ProcessEnv): RegistryAuth | undefined {
  if (env.DOCKER_USERNAME || env.DOCKER_PASSWORD) {
    if (!env.DOCKER_USERNAME || !env.DOCKER_PASSWORD)
      throw new ReleaseError('set both DOCKER_USERNAME and DOCKER_PASSWORD, or neither', { file: 'DOCKER_USERNAME' });
    return {
      username: env.DOCKER_USERNAME,
      password: env.DOCKER_PASSWORD,
      serveraddress: registry,
      source: 'DOCKER_USERNAME/DOCKER_PASSWORD',
    };
  }
  const configFile = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  if (!existsSync(configFile)) return undefined;
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = JSON.parse(readFileSync(configFile, 'utf8')).auths ?? {};
  } catch {
    throw new ReleaseError('is not valid JSON', { file: configFile });
  }
  const found = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
  if (!found) return undefined;
  const [username, ...rest] = found.auth
    ? Buffer.from(found.auth, 'base64').toString('utf8').split(':')
    : [found.username ?? '', found.password ?? ''];
  return { username, password: rest.join(':'), serveraddress: registry, source: configFile };
}

/** The registry did not answer at all (no network, no such host): the environment, not the reference, is at fault. */
export class RegistryUnreachable extends ReleaseError {}

export function isLoopback(registry: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
}

export interface ImageReference {
  /** The host as written (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Docker's reading of an image name: no registry is docker.io, a one-part name there is under library/. */
export function parseImageReference(text: string, where: string): ImageReference {
  const m =
    /^(?:([^/]+)\/)?([a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(
      text,
    );
  const first = m?.[1];
  const isRegistry = first !== undefined && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!m) throw new ReleaseError(`"${text}" is not an image reference (registry/name[:tag]@sha256:<digest>)`, { file: where });
  const registry = isRegistry ? first : 'docker.io';
  const path = isRegistry || first === undefined ? m[2] : `${first}/${m[2]}`;
  const repository = registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
  return { registry, repository, tag: m[3], digest: m[4] };
}

/** The host the API answers on: Docker Hub's API is not at docker.io. */
function apiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

/** Upload chunk size: a blob goes up in PATCH requests of this size, so memory stays flat. */
const UPLOAD_CHUNK = 16 << 20;

export class RegistryClient {
  private readonly base: string;
  private readonly tokens = new Map<string, string>();

  /** `timeoutMs` bounds each request (a probe's is short): a request not answered by then is aborted. */
  constructor(
    readonly registry: string,
    private readonly auth?: Pick<RegistryAuth, 'username' | 'password'>,
    private readonly timeoutMs = 300_000,
  ) {
    this.base = `${isLoopback(registry) ? 'http' : 'https'}://${apiHost(registry)}`;
  }

  /** A manifest or index by tag or digest: its bytes, media type and digest (checked when asked by digest). */
  async manifest(repository: string, reference: string, accept: string[]): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const response = await this.call('GET', repository, `manifests/${reference}`, 'pull', { headers: { accept: accept.join(', ') } });
    if (!response.ok) throw await this.failure(response, `GET ${repository} manifest ${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference)
      throw new ReleaseError(`${this.registry}/${repository}@${reference} answered a manifest whose digest is ${digest}`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim() || JSON.parse(bytes.toString('utf8')).mediaType;
    return { bytes, mediaType, digest };
  }

  /** Downloads a blob into `file`, checking its digest before it is renamed into place. */
  async blobToFile(repository: string, digest: string, file: string): Promise<void> {
    const response = await this.call('GET', repository, `blobs/${digest}`, 'pull');
    if (!response.ok || !response.body) throw await this.failure(response, `GET ${repository} blob ${digest}`);
    const hash = createHash('sha256');
    const partial = partialPathFor(file);
    const fd = openSync(partial, 'w', 0o644);
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        writeFileSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) throw new ReleaseError(`${this.registry}/${repository}: the blob ${digest} downloaded has digest ${got}`);
    renameSync(partial, file);
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.call('HEAD', repository, `blobs/${digest}`, 'push,pull');
    if (response.status === 404) return false;
    if (!response.ok) throw await this.failure(response, `HEAD ${repository} blob ${digest}`);
    return true;
  }

  /** Uploads a file as a blob: POST, PATCH chunks, PUT with its digest (the registry checks it). */
  async pushBlob(repository: string, digest: string, file: string, size: number): Promise<void> {
    let response = await this.call('POST', repository, 'blobs/uploads/', 'push,pull');
    if (response.status !== 202) throw await this.failure(response, `POST ${repository} blob upload`);
    let location = this.location(response);
    const fd = openSync(file, 'r');
    try {
      const chunk = Buffer.alloc(Math.min(UPLOAD_CHUNK, Math.max(size, 1)));
      for (let at = 0; at < size;) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
        response = await this.call('PATCH', repository, location, 'push,pull', {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${at}-${at + n - 1}`, 'content-length': String(n) },
          body: chunk.subarray(0, n),
        });
        if (response.status !== 202) throw await this.failure(response, `PATCH ${repository} blob ${digest}`);
        location = this.location(response);
        at += n;
      }
    } finally {
      closeSync(fd);
    }
    const separator = location.includes('?') ? '&' : '?';
    response = await this.call('PUT', repository, `${location}${separator}digest=${encodeURIComponent(digest)}`, 'push,pull', {
      headers: { 'content-length': '0' },
    });
    if (response.status !== 201) throw await this.failure(response, `PUT ${repository} blob ${digest}`);
  }

  /** Stores a manifest or index under a tag or its digest; returns the digest the registry reports. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.call('PUT', repository, `manifests/${reference}`, 'push,pull', {
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (response.status !== 201) throw await this.failure(response, `PUT ${repository} manifest ${reference}`);
    return response.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }

  /** `path` is relative to /v2/<repository>/, or an absolute upload location the registry gave. */
  private async call(
    method: string,
    repository: string,
    path: string,
    actions: string,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : path.startsWith('/') ? `${this.base}${path}` : `${this.base}/v2/${repository}/${path}`;
    const scope = `repository:${repository}:${actions}`;
    const send = () => {
      const token = this.tokens.get(scope);
      return fetch(url, {
        method,
        headers: { ...init.headers, ...(token ? { authorization: token } : {}) },
        body: init.body,
        redirect: 'follow',
        signal: AbortSignal.timeout(this.timeoutMs),
      }).catch((e: Error) => {
        throw new RegistryUnreachable(
          `the registry ${this.registry} does not answer at ${this.base}: ${(e.cause as Error)?.message ?? e.message}`,
        );
      });
    };
    let response = await send();
    if (response.status === 401 && !this.tokens.has(scope)) {
      await response.arrayBuffer().catch(() => undefined);
      this.tokens.set(scope, await this.authorize(response.headers.get('www-authenticate') ?? '', scope));
      response = await send();
    }
    return response;
  }

  /** The Authorization header a challenge asks for: a bearer token from its realm, or basic credentials. */
  private async authorize(challenge: string, scope: string): Promise<string> {
    const basic = this.auth ? `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}` : undefined;
    if (/^basic\b/i.test(challenge)) {
      if (!basic)
        throw new ReleaseError(`the registry ${this.registry} needs credentials`, {
          hint: 'set DOCKER_USERNAME and DOCKER_PASSWORD, or `docker login` it',
        });
      return basic;
    }
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!/^bearer\b/i.test(challenge) || !params.realm)
      throw new ReleaseError(
        `the registry ${this.registry} asked for authentication this client does not speak: ${challenge || '(no challenge)'}`,
      );
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', scope);
    const response = await fetch(url, {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(Math.min(60_000, this.timeoutMs)),
    });
    if (!response.ok)
      throw new ReleaseError(`the registry ${this.registry} refused a token for ${scope} (HTTP ${response.status} from ${url.origin})`, {
        hint: basic ? 'check DOCKER_USERNAME and DOCKER_PASSWORD' : 'set DOCKER_USERNAME and DOCKER_PASSWORD, or `docker login` it',
      });
    const body = (await response.json()) as { token?: string; access_token?: string };
    return `Bearer ${body.token ?? body.access_token}`;
  }

  private location(response: Response): string {
    const location = response.headers.get('location');
    if (!location) throw new ReleaseError(`the registry ${this.registry} gave no upload location`);
    return location;
  }

  private async failure(response: Response, what: string): Promise<ReleaseError> {
    const text = (await response.text().catch(() => '')).trim();
    let detail = text;
    try {
      const errors = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors;
      if (errors?.length) detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // not the registry's JSON error body
    }
    return new ReleaseError(
      `the registry ${this.registry} answered ${what} with HTTP ${response.status}${detail ? `: ${detail.slice(0, 300)}` : ''}`,
    );
  }
}
