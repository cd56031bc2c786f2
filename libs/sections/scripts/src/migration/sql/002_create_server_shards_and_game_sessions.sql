-- 002: server shards (one per game server pod) and multiplayer game sessions.
--
-- Applied by scripts/migration/migrate_database.sh inside a single
-- transaction together with its schema_migrations row: no BEGIN/COMMIT here.

-- Every game server registers itself as a shard at start-up and sends a
-- heartbeat; the matchmaker only places players on fresh, online shards.
CREATE TABLE server_shards (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text        NOT NULL,
    region              text        NOT NULL,
    host                text        NOT NULL,
    game_port           integer     NOT NULL DEFAULT 7777,
    http_port           integer     NOT NULL DEFAULT 8080,
    server_version      text        NOT NULL,
    status              text        NOT NULL DEFAULT 'starting',
    capacity            integer     NOT NULL DEFAULT 64,
    current_players     integer     NOT NULL DEFAULT 0,
    tick_rate_hz        smallint    NOT NULL DEFAULT 90,
    registered_at       timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT server_shards_name_key UNIQUE (name),
    CONSTRAINT server_shards_game_port_valid CHECK (game_port BETWEEN 1 AND 65535),
    CONSTRAINT server_shards_http_port_valid CHECK (http_port BETWEEN 1 AND 65535),
    CONSTRAINT server_shards_status_valid CHECK (status IN ('starting', 'online', 'draining', 'offline')),
    CONSTRAINT server_shards_capacity_valid CHECK (capacity > 0 AND current_players BETWEEN 0 AND capacity)
);

CREATE INDEX server_shards_placement_idx
    ON server_shards (region, current_players)
    WHERE status = 'online';

CREATE TRIGGER server_shards_set_updated_at
    BEFORE UPDATE ON server_shards
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Game sessions. The authoritative live copy is held by the hosting pod and
-- the Redis session registry; this table is the durable record (history,
-- analytics, support) keyed by the same server-assigned id ("ses_...").
CREATE TABLE game_sessions (
    id              text        PRIMARY KEY,
    shard_id        uuid        REFERENCES server_shards (id) ON DELETE SET NULL,
    host_player_id  uuid        REFERENCES players (id) ON DELETE SET NULL,
    pod_name        text,
    name            text        NOT NULL,
    map             text        NOT NULL DEFAULT 'orbital_station',
    max_players     smallint    NOT NULL DEFAULT 32,
    is_private      boolean     NOT NULL DEFAULT false,
    state           text        NOT NULL DEFAULT 'open',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    close_reason    text,
    CONSTRAINT game_sessions_id_format CHECK (id ~ '^ses_[A-Za-z0-9_-]{8,60}$'),
    CONSTRAINT game_sessions_name_length CHECK (length(name) BETWEEN 1 AND 64),
    CONSTRAINT game_sessions_map_format CHECK (map ~ '^[a-z0-9_]{1,32}$'),
    CONSTRAINT game_sessions_max_players_valid CHECK (max_players BETWEEN 2 AND 64),
    CONSTRAINT game_sessions_state_valid CHECK (state IN ('open', 'draining', 'closing', 'closed')),
    CONSTRAINT game_sessions_closed_consistent CHECK ((state = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT game_sessions_closed_after_created CHECK (closed_at IS NULL OR closed_at >= created_at)
);

CREATE INDEX game_sessions_live_idx ON game_sessions (state, created_at DESC) WHERE state <> 'closed';
CREATE INDEX game_sessions_shard_idx ON game_sessions (shard_id) WHERE state <> 'closed';
CREATE INDEX game_sessions_host_idx ON game_sessions (host_player_id);

CREATE TRIGGER game_sessions_set_updated_at
    BEFORE UPDATE ON game_sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Membership history: a player re-joining a session gets a new row.
CREATE TABLE game_session_players (
    session_id  text        NOT NULL REFERENCES game_sessions (id) ON DELETE CASCADE,
    player_id   uuid        NOT NULL REFERENCES players (id) ON DELETE CASCADE,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    left_at     timestamptz,
    role        text        NOT NULL DEFAULT 'player',
    PRIMARY KEY (session_id, player_id, joined_at),
    CONSTRAINT game_session_players_role_valid CHECK (role IN ('host', 'player', 'spectator')),
    CONSTRAINT game_session_players_left_after_join CHECK (left_at IS NULL OR left_at >= joined_at)
);

-- A player can be in at most one session at a time.
CREATE UNIQUE INDEX game_session_players_one_active_session
    ON game_session_players (player_id)
    WHERE left_at IS NULL;
CREATE INDEX game_session_players_session_active_idx
    ON game_session_players (session_id)
    WHERE left_at IS NULL;
