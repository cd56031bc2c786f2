/** Error names and codes that say "try again": throttling, server-side failures, dropped connections. */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e?.$metadata?.httpStatusCode;
  return (
    (status !== undefined && (status >= 500 || status === 429)) ||
    TRANSIENT_NAMES.has(e?.name ?? '') ||
    TRANSIENT_CODES.has(e?.code ?? '') ||
    Boolean(e?.$retryable)
  );
}

export interface RetryPolicy {
  attempts: number;
  /** Delay before the second attempt; doubled for each further one. */
  firstDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, firstDelayMs: 250 };

/** Runs `action`, retrying transient failures with exponential backoff and jitter. */
export async function withRetry<T>(
  what: string,
  action: () => Promise<T>,
  log: (line: string) => void,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const delay = policy.firstDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      log(
        `  retrying ${what} in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1}/${policy.attempts}): ` +
          `${(error as Error).name}: ${(error as Error).message}`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
