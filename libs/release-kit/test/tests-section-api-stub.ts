import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A STAND-IN for one SpaceTime VR server pod's HTTP API (Godot 4, which runs the real one, is not
 * packaged here): the routes, checks and answers of libs/sections/binaries/godot/scripts/network/
 * http_api.gd and session_manager.gd, in the same order (route, then credentials, then content
 * type, then body, then the operation), with the session registry of a single pod.
 *
 * `faults` breaks one invariant each, so that a test can show the property suite notices;
 * 'throttled' is no fault, but what the ingress's rate limit does to a fast client.
 */
export type ApiFault =
  | 'throttled' // every 7th request is a 429 with Retry-After: 0, before it reaches the server
  | 'close-twice-fails' // closing a session that is gone answers 500 instead of 404
  | 'negative-player-count' // a join takes one off player_count
  | 'unclamped-limit' // list pages take any limit
  | 'close-keeps-session' // close answers 204 and keeps the session
  | 'lax-names' // session names are not checked
  | 'request-id-mismatch'; // error bodies name another request id than the header

export const STUB_PLAYER = { username: 'pbt_player', password: 'pbt-Password_1', id: randomUUID() };
const STUB_API_KEY = 'stub-operator-key';
const MAX_SESSIONS_PER_HOST = 3;
const MAX_PLAYERS_PER_SESSION = 32;
const LOGIN_ATTEMPTS_PER_MINUTE = 10;
const POD = 'spacetime-vr-stub-0';
const ENDPOINT = { host: 'play.spacetime-vr.example.com', port: 7777, protocol: 'udp' };
const NAME = /^[\p{L}\p{N} _'().-]{1,64}$/u;
const MAP = /^[a-z0-9_]{1,32}$/;
const GRID = 3;
const CELL = 1000;

type Auth = 'none' | 'bearer' | 'api-key' | 'bearer-or-api-key';
type Json = Record<string, unknown>;
interface Request {
  method: string;
  query: URLSearchParams;
  params: Record<string, string>;
  json: Json;
  principal: { kind: 'anonymous' | 'operator' | 'player'; playerId?: string };
  clientIp: string;
}
interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
interface Route {
  method: string;
  pattern: RegExp;
  auth: Auth;
  handle: (req: Request) => Answer;
}
interface Session extends Json {
  id: string;
  host_player_id: string;
  max_players: number;
  player_count: number;
  state: string;
  private: boolean;
}

export interface ApiStub {
  url: string;
  /** Requests answered, as `<method> <route template> <status>`. */
  log: string[];
  /** Sessions open now. */
  sessions: Map<string, Session>;
  close(): Promise<void>;
}

const randomId = (n: number) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);
const error = (status: number, code: string, message: string): Answer => ({ status, body: { error: code, message } });
/** Godot's String.strip_edges: ASCII control characters and spaces at both ends. */
const stripEdges = (s: string) => s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
const toInt = (value: unknown, fallback: number) => (value === undefined ? fallback : Math.trunc(Number(value)) || 0);

function shardFor(x: number, z: number): string {
  const cell = (v: number) => Math.min(GRID - 1, Math.max(0, Math.floor((v + (GRID * CELL) / 2) / CELL)));
  return `shard-${cell(x)}-${cell(z)}`;
}

export async function startApiStub(faults: ApiFault[] = []): Promise<ApiStub> {
  const broken = new Set(faults);
  const sessions = new Map<string, Session>();
  const tokens = new Set<string>();
  const logins = new Map<string, number[]>();
  const log: string[] = [];
  const startedAt = Date.now();

  const issueToken = (claims: Json) => {
    const part = (value: Json) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, jti: randomId(16) })}.${randomId(43)}`;
  };

  const createSession = (req: Request): Answer => {
    const host = req.principal.playerId!;
    if ([...sessions.values()].filter((s) => s.host_player_id === host).length >= MAX_SESSIONS_PER_HOST)
      return error(409, 'too_many_sessions', `a player can host at most ${MAX_SESSIONS_PER_HOST} sessions at a time`);
    const name = stripEdges(String(req.json.name ?? ''));
    if (!(broken.has('lax-names') ? name.length > 0 : NAME.test(name))) return error(400, 'bad_request', 'name must be 1-64 letters...');
    const map = String(req.json.map ?? 'orbital_station');
    if (!MAP.test(map)) return error(400, 'bad_request', 'map must match ^[a-z0-9_]{1,32}$');
    const maxPlayers = toInt(req.json.max_players, MAX_PLAYERS_PER_SESSION);
    if (maxPlayers < 2 || maxPlayers > MAX_PLAYERS_PER_SESSION) return error(400, 'bad_request', 'max_players must be between 2 and 32');
    const session: Session = {
      id: `ses_${randomId(12)}`,
      name,
      map,
      host_player_id: host,
      max_players: maxPlayers,
      player_count: 0,
      state: 'open',
      private: Boolean(req.json.private ?? false),
      shard_id: shardFor(0, 0),
      pod: POD,
      created_at: `${new Date().toISOString().slice(0, 19)}Z`,
      endpoint: ENDPOINT,
    };
    sessions.set(session.id, session);
    return { status: 201, body: session, headers: { Location: `/api/v1/sessions/${session.id}` } };
  };

  const closeSession = (req: Request): Answer => {
    const session = sessions.get(req.params.sessionId);
    if (!session) return broken.has('close-twice-fails') ? error(500, 'internal', 'boom') : error(404, 'not_found', 'no such session');
    if (req.principal.kind !== 'operator' && session.host_player_id !== req.principal.playerId)
      return error(403, 'forbidden', 'only the session host or an operator can close a session');
    if (!broken.has('close-keeps-session')) sessions.delete(session.id);
    return { status: 204 };
  };

  const joinSession = (req: Request): Answer => {
    const session = sessions.get(req.params.sessionId);
    if (!session) return error(404, 'not_found', 'no such session');
    if (session.state !== 'open') return error(409, 'session_closed', 'the session is not accepting players');
    if (session.player_count >= session.max_players) return error(409, 'session_full', 'the session is full');
    if (broken.has('negative-player-count')) session.player_count -= 1;
    const spawn = (req.json.spawn_position ?? {}) as Record<string, number>;
    const [x, z] = [Number(spawn.x ?? 0), Number(spawn.z ?? 0)];
    const joinToken = issueToken({ sub: req.principal.playerId, sid: session.id, aud: 'spacetime-game' });
    const join = { session_id: session.id, player_id: req.principal.playerId, join_token: joinToken, expires_in: 60 };
    return { status: 200, body: { ...join, endpoint: session.endpoint, shard_id: shardFor(x, z) } };
  };

  const listSessions = (req: Request): Answer => {
    const limitAsked = toInt(req.query.get('limit') ?? undefined, 50);
    const limit = broken.has('unclamped-limit') ? limitAsked : Math.min(Math.max(limitAsked, 1), 200);
    const offset = Math.max(0, toInt(req.query.get('offset') ?? undefined, 0));
    const [state, map] = [req.query.get('state') ?? '', req.query.get('map') ?? ''];
    const items = [...sessions.values()]
      .filter((s) => !s.private && (!state || s.state === state) && (!map || s.map === map))
      .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    return { status: 200, body: { items: items.slice(offset, offset + Math.max(limit, 0)), total: items.length, limit, offset } };
  };

  const login = (req: Request): Answer => {
    const now = Date.now();
    const window = (logins.get(req.clientIp) ?? []).filter((t) => now - t < 60_000);
    logins.set(req.clientIp, window);
    if (window.length >= LOGIN_ATTEMPTS_PER_MINUTE)
      return { ...error(429, 'rate_limited', 'too many login attempts, retry in a minute'), headers: { 'Retry-After': '60' } };
    window.push(now);
    const username = stripEdges(String(req.json.username ?? ''));
    const password = String(req.json.password ?? '');
    if (!username || username.length > 64 || !password || password.length > 256)
      return error(400, 'bad_request', 'username and password are required');
    if (username !== STUB_PLAYER.username || password !== STUB_PLAYER.password)
      return error(401, 'invalid_credentials', 'unknown user or wrong password');
    const token = issueToken({ sub: STUB_PLAYER.id, aud: 'spacetime-api' });
    tokens.add(token);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600, player_id: STUB_PLAYER.id } };
  };

  const shards = (): Answer => {
    const items = [];
    for (let x = 0; x < GRID; x++)
      for (let z = 0; z < GRID; z++) {
        const region = { min_x: x * CELL - 1500, min_z: z * CELL - 1500, max_x: x * CELL - 500, max_z: z * CELL - 500 };
        items.push({ id: `shard-${x}-${z}`, region, players: 0, capacity: 64, state: 'active', pod: POD });
      }
    return { status: 200, body: { items, total: items.length, pod: POD } };
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/healthz$/, auth: 'none', handle: () => ({ status: 200, body: { status: 'ok' } }) },
    {
      method: 'GET',
      pattern: /^\/readyz$/,
      auth: 'none',
      handle: () => ({ status: 200, body: { status: 'ready', checks: { database: 'ok', redis: 'ok', draining: false } } }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/status$/,
      auth: 'none',
      handle: () => ({
        status: 200,
        body: {
          version: '2.5.0',
          environment: 'development',
          pod: POD,
          uptime_seconds: Math.floor((Date.now() - startedAt) / 1000),
          players_connected: 0,
          sessions_active: sessions.size,
          shards_hosted: GRID * GRID,
          tick_rate_hz: 90,
          draining: false,
        },
      }),
    },
    { method: 'POST', pattern: /^\/api\/v1\/auth\/login$/, auth: 'none', handle: login },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/players\/(?<playerId>[0-9a-fA-F-]{36})$/,
      auth: 'bearer-or-api-key',
      handle: (req) =>
        req.params.playerId === STUB_PLAYER.id
          ? {
              status: 200,
              body: {
                id: STUB_PLAYER.id,
                display_name: 'Property Tests',
                created_at: '2025-12-01T00:00:00Z',
                last_seen_at: '2025-12-02T00:00:00Z',
                total_play_seconds: 3600,
                current_session_id: null,
              },
            }
          : error(404, 'not_found', 'no such player'),
    },
    { method: 'GET', pattern: /^\/api\/v1\/sessions$/, auth: 'bearer-or-api-key', handle: listSessions },
    { method: 'POST', pattern: /^\/api\/v1\/sessions$/, auth: 'bearer', handle: createSession },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/sessions\/(?<sessionId>[A-Za-z0-9_-]{8,64})$/,
      auth: 'bearer-or-api-key',
      handle: (req) => {
        const session = sessions.get(req.params.sessionId);
        return session ? { status: 200, body: session } : error(404, 'not_found', 'no such session');
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/v1\/sessions\/(?<sessionId>[A-Za-z0-9_-]{8,64})$/,
      auth: 'bearer-or-api-key',
      handle: closeSession,
    },
    { method: 'POST', pattern: /^\/api\/v1\/sessions\/(?<sessionId>[A-Za-z0-9_-]{8,64})\/join$/, auth: 'bearer', handle: joinSession },
    { method: 'GET', pattern: /^\/api\/v1\/shards$/, auth: 'bearer-or-api-key', handle: shards },
    // Answers like the real drain without draining: the property suite must never reach it.
    { method: 'POST', pattern: /^\/api\/v1\/admin\/drain$/, auth: 'api-key', handle: () => error(500, 'stub', 'the stub does not drain') },
  ];

  const authenticate = (headers: IncomingMessage['headers'], auth: Auth): Request['principal'] | string => {
    if (auth === 'none') return { kind: 'anonymous' };
    const key = String(headers['x-api-key'] ?? '');
    if ((auth === 'api-key' || auth === 'bearer-or-api-key') && key) return key === STUB_API_KEY ? { kind: 'operator' } : 'invalid API key';
    if (auth === 'api-key') return 'X-API-Key header required';
    const token = /^Bearer\s+(\S+)$/.exec(String(headers.authorization ?? ''))?.[1] ?? '';
    if (!token) return 'bearer token required';
    return tokens.has(token) ? { kind: 'player', playerId: STUB_PLAYER.id } : 'invalid token';
  };

  const answer = (incoming: IncomingMessage, raw: Buffer): Answer & { route: string } => {
    const url = new URL(incoming.url ?? '/', 'http://stub');
    const method = incoming.method ?? 'GET';
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    const route = matches.find((r) => r.method === method);
    if (!route) {
      const answerFor = matches.length
        ? error(405, 'method_not_allowed', 'no such operation')
        : error(404, 'not_found', 'no such operation');
      return { ...answerFor, route: 'unmatched' };
    }
    // The route's template, as the server labels its metrics: /api/v1/sessions/{sessionId}.
    const name = route.pattern.source.replace(/\(\?<(\w+)>[^)]*\)/g, '{$1}').replace(/[\\^$]/g, '');
    const principal = authenticate(incoming.headers, route.auth);
    if (typeof principal === 'string')
      return { ...error(401, 'unauthorized', principal), headers: { 'WWW-Authenticate': 'Bearer realm="spacetime-vr"' }, route: name };
    let json: Json = {};
    if (method === 'POST') {
      if (!String(incoming.headers['content-type'] ?? '').startsWith('application/json'))
        return { ...error(415, 'unsupported_media_type', 'send application/json'), route: name };
      let parsed: unknown = {};
      try {
        if (raw.length) parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        parsed = null;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        return { ...error(400, 'bad_request', 'body must be a JSON object'), route: name };
      json = parsed as Json;
    }
    const forwarded = String(incoming.headers['x-forwarded-for'] ?? '')
      .split(',')[0]
      .trim();
    const params = route.pattern.exec(url.pathname)?.groups ?? {};
    const req = { method, query: url.searchParams, params, json, principal, clientIp: forwarded || incoming.socket.remoteAddress || '' };
    return { ...route.handle(req), route: name };
  };

  const respond = (incoming: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    if (broken.has('throttled') && log.length % 7 === 6) {
      log.push(`${incoming.method} throttled 429`);
      res.writeHead(429, { 'Retry-After': '0', 'Content-Type': 'text/html' }).end('<html>429 Too Many Requests</html>');
      return;
    }
    const asked = String(incoming.headers['x-request-id'] ?? '');
    const requestId = asked && asked.length <= 64 ? asked : randomId(12);
    const result = answer(incoming, raw);
    log.push(`${incoming.method} ${result.route} ${result.status}`);
    const headers: Record<string, string> = { ...result.headers, 'X-Request-ID': requestId };
    if (result.status === 204) {
      res.writeHead(204, headers).end();
      return;
    }
    let body = result.body;
    if (result.status >= 400 && body && typeof body === 'object')
      body = { ...body, request_id: broken.has('request-id-mismatch') ? `other-${requestId}` : requestId };
    res.writeHead(result.status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };

  const server: Server = createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => respond(incoming, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    sessions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
