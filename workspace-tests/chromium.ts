import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';

/** What a page did when Chromium opened it at one viewport. */
export interface PageRender {
  /** Uncaught exceptions, console.error calls and browser errors (CSP violations, failed loads). */
  errors: string[];
  /** Every URL the page requested other than itself and data: URLs. */
  requests: string[];
  scrollWidth: number;
  viewportWidth: number;
  bodyText: string;
}

export const CHROMIUM = 'chromium';
const TIMEOUT_MS = 60_000;

/**
 * Opens a page in headless Chromium through the DevTools protocol (--remote-debugging-pipe) at
 * each viewport, records errors, requests and the document's width, and saves a screenshot of
 * the viewport to each `png` path. One browser launch for all viewports.
 */
export async function renderPage(url: string, viewports: Array<{ width: number; height: number; png: string }>): Promise<PageRender[]> {
  const browser = spawn(
    CHROMIUM,
    ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-pipe', 'about:blank'],
    {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  browser.stderr!.on('data', (d) => (stderr += d));
  const cdp = new PipeSession(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  const timer = setTimeout(() => browser.kill('SIGKILL'), TIMEOUT_MS);
  try {
    const results: PageRender[] = [];
    for (const viewport of viewports) {
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
      const errors: string[] = [];
      const requests: string[] = [];
      cdp.listen(sessionId, (method, params) => {
        if (method === 'Runtime.exceptionThrown')
          errors.push(`exception: ${params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text}`);
        if (method === 'Runtime.consoleAPICalled' && params.type === 'error')
          errors.push(`console.error: ${params.args?.map((a: { value?: unknown }) => a.value).join(' ')}`);
        if (method === 'Log.entryAdded' && params.entry?.level === 'error') errors.push(`${params.entry.source}: ${params.entry.text}`);
        if (method === 'Network.requestWillBeSent' && params.request.url !== url && !params.request.url.startsWith('data:'))
          requests.push(params.request.url);
      });
      for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await cdp.send(`${domain}.enable`, {}, sessionId);
      await cdp.send(
        'Emulation.setDeviceMetricsOverride',
        { width: viewport.width, height: viewport.height, deviceScaleFactor: 1, mobile: viewport.width < 600 },
        sessionId,
      );
      const loaded = cdp.once(sessionId, 'Page.loadEventFired');
      await cdp.send('Page.navigate', { url }, sessionId);
      await loaded;
      const probe = await cdp.send(
        'Runtime.evaluate',
        {
          expression:
            'JSON.stringify({ scrollWidth: document.documentElement.scrollWidth, viewportWidth: window.innerWidth, ' +
            'bodyText: document.body ? document.body.innerText : "" })',
          returnByValue: true,
        },
        sessionId,
      );
      const shot = await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId);
      writeFileSync(viewport.png, Buffer.from(shot.data, 'base64'));
      results.push({ errors, requests, ...JSON.parse(probe.result.value) });
      await cdp.send('Target.closeTarget', { targetId });
    }
    await cdp.send('Browser.close', {}).catch(() => undefined);
    return results;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nchromium stderr:\n${stderr}`, { cause: error });
  } finally {
    clearTimeout(timer);
    if (browser.exitCode === null) browser.kill('SIGKILL');
  }
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(file: string): { width: number; height: number; bytes: number } {
  const data = readFileSync(file);
  if (data.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), bytes: data.length };
}

/** Protocol messages are loosely typed JSON. */
type Json = any;
type Handler = (method: string, params: Json) => void;

/** The DevTools protocol over Chromium's pipe: NUL-terminated JSON messages on fds 3 and 4. */
class PipeSession {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private listeners = new Map<string, Handler[]>();
  private buffer = '';

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
    output.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium closed the DevTools pipe'));
      this.pending.clear();
    });
  }

  send(method: string, params: object, sessionId?: string): Promise<Json> {
    const id = this.nextId++;
    this.input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  listen(sessionId: string, handler: Handler): void {
    this.listeners.set(sessionId, [...(this.listeners.get(sessionId) ?? []), handler]);
  }

  once(sessionId: string, event: string): Promise<void> {
    return new Promise((resolve) => this.listen(sessionId, (method) => method === event && resolve()));
  }

  private dispatch(message: {
    id?: number;
    method?: string;
    params?: unknown;
    sessionId?: string;
    result?: unknown;
    error?: { message: string };
  }): void {
    if (message.id !== undefined) {
      const p = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) p?.reject(new Error(message.error.message));
      else p?.resolve(message.result);
      return;
    }
    for (const handler of this.listeners.get(message.sessionId ?? '') ?? []) handler(message.method!, message.params);
  }
}
