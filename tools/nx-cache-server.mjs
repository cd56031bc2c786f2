// A minimal Nx remote cache following Nx's published OpenAPI spec for self-hosted caches
// (https://nx.dev/docs/kb/self-hosted-caching): GET/PUT /v1/cache/{hash}, bearer token.
// Stores each task's tar archive as a file. For tests and trials, not production (no TLS, no eviction).
//
//   node tools/nx-cache-server.mjs <storage-dir> [port]      token in NX_CACHE_SERVER_TOKEN
//
// Prints `listening <url>`, then one JSON line per request: {"method","hash","status"}.
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const [storage, port = '0'] = process.argv.slice(2);
const token = process.env.NX_CACHE_SERVER_TOKEN;
if (!storage || !token) {
  console.error('usage: NX_CACHE_SERVER_TOKEN=<token> node tools/nx-cache-server.mjs <storage-dir> [port]');
  process.exit(2);
}
mkdirSync(storage, { recursive: true });

const server = createServer(async (req, res) => {
  const hash = /^\/v1\/cache\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
  const file = hash && join(storage, hash);
  const answer = (status, body = '') => {
    console.log(JSON.stringify({ method: req.method, hash, status }));
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  };
  if (req.headers.authorization !== `Bearer ${token}`) return answer(401, 'missing or wrong access token');
  if (!file) return answer(404);
  if (req.method === 'GET') {
    if (!existsSync(file)) return answer(404);
    console.log(JSON.stringify({ method: 'GET', hash, status: 200 }));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return pipeline(createReadStream(file), res).catch(() => res.destroy());
  }
  if (req.method !== 'PUT') return answer(405);
  // The spec: 409 when the entry exists (entries are immutable), 200 once stored; Nx fails the task on 202.
  if (existsSync(file)) return answer(409, 'cannot override an existing record');
  const partial = `${file}.${process.pid}.partial`;
  try {
    await pipeline(req, createWriteStream(partial));
    renameSync(partial, file);
    answer(200);
  } catch {
    rmSync(partial, { force: true });
    answer(500);
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}`));
