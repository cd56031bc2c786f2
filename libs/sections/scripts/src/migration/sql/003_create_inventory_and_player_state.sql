-- 003: item catalogue, player inventories and persisted player state.
--
-- Applied by scripts/migration/migrate_database.sh inside a single
-- transaction together with its schema_migrations row: no BEGIN/COMMIT here.

CREATE TABLE item_definitions (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    category    text        NOT NULL,
    rarity      text        NOT NULL DEFAULT 'common',
    max_stack   integer     NOT NULL DEFAULT 1,
    tradable    boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT item_definitions_id_format CHECK (id ~ '^[a-z0-9_]{2,64}$'),
    CONSTRAINT item_definitions_category_valid
        CHECK (category IN ('tool', 'resource', 'consumable', 'cosmetic', 'ship_module')),
    CONSTRAINT item_definitions_rarity_valid
        CHECK (rarity IN ('common', 'uncommon', 'rare', 'epic', 'legendary')),
    CONSTRAINT item_definitions_max_stack_valid CHECK (max_stack BETWEEN 1 AND 9999)
);

CREATE TABLE player_inventory (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    player_id   uuid        NOT NULL REFERENCES players (id) ON DELETE CASCADE,
    item_id     text        NOT NULL REFERENCES item_definitions (id) ON UPDATE CASCADE,
    slot        smallint    NOT NULL,
    quantity    integer     NOT NULL DEFAULT 1,
    -- Per-instance data: durability, colour, attached modules...
    attributes  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT player_inventory_slot_key UNIQUE (player_id, slot),
    CONSTRAINT player_inventory_slot_valid CHECK (slot BETWEEN 0 AND 199),
    CONSTRAINT player_inventory_quantity_valid CHECK (quantity > 0),
    CONSTRAINT player_inventory_attributes_object CHECK (jsonb_typeof(attributes) = 'object')
);

CREATE INDEX player_inventory_item_idx ON player_inventory (item_id);

CREATE TRIGGER player_inventory_set_updated_at
    BEFORE UPDATE ON player_inventory
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Last known state of each player, written by the shard on a timer and on
-- disconnect; read when the player reconnects (possibly on another shard).
CREATE TABLE player_state (
    player_id       uuid             PRIMARY KEY REFERENCES players (id) ON DELETE CASCADE,
    shard_id        uuid             REFERENCES server_shards (id) ON DELETE SET NULL,
    session_id      text             REFERENCES game_sessions (id) ON DELETE SET NULL,
    scene           text             NOT NULL DEFAULT 'res://scenes/hub.tscn',
    position_x      double precision NOT NULL DEFAULT 0,
    position_y      double precision NOT NULL DEFAULT 0,
    position_z      double precision NOT NULL DEFAULT 0,
    -- Orientation as a unit quaternion.
    rotation_x      double precision NOT NULL DEFAULT 0,
    rotation_y      double precision NOT NULL DEFAULT 0,
    rotation_z      double precision NOT NULL DEFAULT 0,
    rotation_w      double precision NOT NULL DEFAULT 1,
    health          real             NOT NULL DEFAULT 100,
    credits         bigint           NOT NULL DEFAULT 0,
    experience      bigint           NOT NULL DEFAULT 0,
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT player_state_health_valid CHECK (health >= 0 AND health <= 100),
    CONSTRAINT player_state_credits_valid CHECK (credits >= 0),
    CONSTRAINT player_state_experience_valid CHECK (experience >= 0)
);

CREATE TRIGGER player_state_set_updated_at
    BEFORE UPDATE ON player_state
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Base catalogue shipped with 2.5.0 (content updates add rows in later migrations).
INSERT INTO item_definitions (id, name, category, rarity, max_stack, tradable) VALUES
    ('multitool',          'Multitool',              'tool',        'common',    1,   false),
    ('scanner_mk1',        'Survey Scanner Mk I',    'tool',        'common',    1,   true),
    ('iron_ore',           'Iron Ore',               'resource',    'common',    500, true),
    ('titanium_ore',       'Titanium Ore',           'resource',    'uncommon',  500, true),
    ('quantum_crystal',    'Quantum Crystal',        'resource',    'rare',      100, true),
    ('oxygen_canister',    'Oxygen Canister',        'consumable',  'common',    20,  true),
    ('med_kit',            'Medical Kit',            'consumable',  'uncommon',  10,  true),
    ('warp_core_fragment', 'Warp Core Fragment',     'ship_module', 'epic',      5,   true),
    ('nebula_suit_skin',   'Nebula Suit Finish',     'cosmetic',    'legendary', 1,   false);
