import { constants, deflateRaw, ZlibOptions } from 'node:zlib';
import { deflateOptions } from './compression';

/** Chunk size of the parallel deflate; output depends on it, so it is fixed. */
export const DEFLATE_CHUNK = 1 << 20;
const WINDOW = 32 << 10;

/**
 * Deflates on the thread pool into one output buffer that fits the result (deflate's worst case is
 * the input plus 5 bytes per stored block and a little more). With zlib's default 16 KiB chunks a
 * 1 MiB piece goes back and forth between the pool and the main thread about 30 times, which costs
 * CPU and gives the same bytes.
 */
function deflate(input: Buffer, options: ZlibOptions): Promise<Buffer> {
  const chunkSize = Math.max(64 << 10, input.length + (input.length >> 10) + 1024);
  return new Promise((resolve, reject) =>
    deflateRaw(input, { ...options, chunkSize }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** One joinable deflate piece of `data` (see gzip.ts), compressed on the libuv thread pool. */
export function deflateWhole(data: Buffer): Promise<Buffer> {
  return deflate(data, { ...deflateOptions(), finishFlush: constants.Z_SYNC_FLUSH });
}

/**
 * Deflates fixed 1 MiB chunks of one piece in parallel, pigz-style: each chunk is primed with the
 * previous chunk's last 32 KiB as its dictionary and ends byte-aligned with a sync flush, so the
 * concatenation is one joinable piece. The bytes depend only on the input and the chunk size,
 * never on timing.
 */
export function deflateChunk(chunk: Buffer, previous: Buffer | undefined): Promise<Buffer> {
  return deflate(chunk, {
    ...deflateOptions(),
    dictionary: previous ? previous.subarray(Math.max(0, previous.length - WINDOW)) : undefined,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
}

/**
 * Keeps up to `limit` asynchronous results in flight and hands them to `sink` in the order they
 * were started, so that parallel compression still writes a deterministic stream.
 */
export class OrderedPipeline<T> {
  private readonly queue: Array<Promise<T>> = [];

  constructor(
    private readonly sink: (result: T) => void,
    private readonly limit = 8,
  ) {}

  async push(work: Promise<T>): Promise<void> {
    work.catch(() => undefined); // awaited in order below; avoids an unhandled rejection meanwhile
    this.queue.push(work);
    if (this.queue.length >= this.limit) this.sink(await this.queue.shift()!);
  }

  async drain(): Promise<void> {
    while (this.queue.length) this.sink(await this.queue.shift()!);
  }
}
