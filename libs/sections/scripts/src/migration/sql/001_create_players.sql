-- 001: player accounts and authentication sessions.
--
-- Applied by scripts/migration/migrate_database.sh inside a single
-- transaction together with its schema_migrations row: no BEGIN/COMMIT here.
-- Requires PostgreSQL 13+ (gen_random_uuid() is built in; pgcrypto is a
-- trusted extension, so the database owner can create it without superuser).

-- crypt()/gen_salt(): the game server verifies logins with
--   password_hash = crypt($password, password_hash)
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Keeps updated_at current on every UPDATE; shared by later migrations.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE players (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username        text        NOT NULL,
    email           text        NOT NULL,
    -- bcrypt hash from crypt(password, gen_salt('bf', 12)); never a plain-text password.
    password_hash   text        NOT NULL,
    display_name    text        NOT NULL,
    status          text        NOT NULL DEFAULT 'active',
    region          text        NOT NULL DEFAULT 'eu-west-1',
    vr_headset      text,
    total_play_seconds bigint   NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Updated on every successful login.
    last_seen_at    timestamptz,
    CONSTRAINT players_username_key    UNIQUE (username),
    CONSTRAINT players_username_format CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$'),
    CONSTRAINT players_email_format    CHECK (position('@' IN email) > 1 AND length(email) <= 254),
    CONSTRAINT players_display_name_length CHECK (length(display_name) BETWEEN 1 AND 64),
    CONSTRAINT players_password_hash_length CHECK (length(password_hash) BETWEEN 20 AND 255),
    CONSTRAINT players_play_time_valid CHECK (total_play_seconds >= 0),
    CONSTRAINT players_status_valid    CHECK (status IN ('active', 'suspended', 'banned', 'deleted'))
);

COMMENT ON TABLE players IS 'Player accounts of SpaceTime VR.';

-- Login looks players up by exact username (players_username_key); these also
-- keep usernames and e-mail addresses unique regardless of case.
CREATE UNIQUE INDEX players_username_lower_key ON players (lower(username));
CREATE UNIQUE INDEX players_email_lower_key    ON players (lower(email));
CREATE INDEX players_last_seen_at_idx          ON players (last_seen_at DESC) WHERE status = 'active';

CREATE TRIGGER players_set_updated_at
    BEFORE UPDATE ON players
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Refresh tokens issued at login. Access tokens are stateless JWTs; only the
-- SHA-256 of each refresh token is stored so a database leak cannot be replayed.
CREATE TABLE player_sessions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    player_id           uuid        NOT NULL REFERENCES players (id) ON DELETE CASCADE,
    refresh_token_hash  bytea       NOT NULL,
    client_platform     text        NOT NULL DEFAULT 'unknown',
    client_version      text,
    ip_address          inet,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    revoked_at          timestamptz,
    CONSTRAINT player_sessions_token_hash_length CHECK (octet_length(refresh_token_hash) = 32),
    CONSTRAINT player_sessions_expiry_after_creation CHECK (expires_at > created_at)
);

CREATE UNIQUE INDEX player_sessions_refresh_token_hash_key ON player_sessions (refresh_token_hash);
CREATE INDEX player_sessions_player_active_idx
    ON player_sessions (player_id, expires_at)
    WHERE revoked_at IS NULL;
