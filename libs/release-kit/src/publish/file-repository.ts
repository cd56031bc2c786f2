import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ReleaseError } from '../support/errors';
import { moveIntoPlace, partialPathFor, removeStalePartials } from '../support/move-into-place';
import { ArtifactRepository, Comparison, LocalFile, PutRequest, PutResult, StoredObject } from './artifact-repository';

/**
 * A local folder with the S3 layout (development, or a mounted share). Objects are copied to a
 * temporary name and renamed into place, so a reader never sees a partial file. Nothing records
 * a checksum beside the files: an existing object is compared by hashing it.
 */
export class FileRepository implements ArtifactRepository {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root}`;
  }

  async checkAccess(): Promise<void> {
    if (existsSync(this.root) && !statSync(this.root).isDirectory())
      throw new ReleaseError(`${this.root} is not a folder`, { file: 'ARTIFACT_REPO' });
  }

  async probeWrite(): Promise<void> {
    try {
      mkdirSync(this.root, { recursive: true });
      const probe = partialPathFor(join(this.root, 'publish-probe'));
      writeFileSync(probe, 'probe\n');
      rmSync(probe);
    } catch (e) {
      throw new ReleaseError(`cannot write to ${this.root}: ${(e as Error).message}`, { file: 'ARTIFACT_REPO' });
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const file = join(this.root, key);
    return existsSync(file) ? { size: statSync(file).size } : undefined;
  }

  async compare(key: string, local: LocalFile): Promise<Comparison | undefined> {
    const stored = await this.head(key);
    if (!stored) return undefined;
    if (stored.size !== local.size) return { same: false, by: 'size' };
    return { same: (await this.hashContent(key)) === local.sha256, by: 'content' };
  }

  async hashContent(key: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(join(this.root, key))) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async read(key: string): Promise<Buffer | undefined> {
    const file = join(this.root, key);
    return existsSync(file) ? readFileSync(file) : undefined;
  }

  async put(request: PutRequest): Promise<PutResult> {
    const target = join(this.root, request.key);
    mkdirSync(dirname(target), { recursive: true });
    removeStalePartials(dirname(target));
    const staged = partialPathFor(target);
    await copyFile(request.file, staged);
    moveIntoPlace(staged, target);
    return { parts: 1 };
  }
}
