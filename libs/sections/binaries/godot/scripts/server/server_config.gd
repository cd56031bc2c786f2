extends Node
## Autoload "ServerConfig": runtime configuration.
##
## Values come from the environment (the Kubernetes ConfigMap and Secret, or the
## config/<env>/.env.template files of the release package) and can be overridden
## on the command line after "--", for example:
##   spacetime-server --headless -- --http-port=8081 --game-port=7778
## Where the Kubernetes ConfigMap and the .env templates name a setting
## differently, both names are accepted (e.g. TICK_RATE / SERVER_TICK_RATE).

const VERSION_FILE := "VERSION.txt"

var version: String = "dev"
var environment_name: String = "development"
var bind_address: String = "*"
var http_port: int = 8080
var game_port: int = 7777
var tick_rate: int = 90
var max_http_connections: int = 256
var max_players_per_server: int = 64

var database_url: String = ""
var database_pool_size: int = 20
var database_pool_timeout_seconds: int = 5
var database_ssl_mode: String = ""
var redis_url: String = ""
var redis_key_prefix: String = "spacetime:"
var server_data_dir: String = ""

var jwt_secret: String = ""
var jwt_ttl_seconds: int = 3600
var api_key: String = ""
var tls_cert_path: String = ""
var tls_key_path: String = ""

var pod_name: String = ""
var public_game_host: String = ""
var shard_grid: Vector2i = Vector2i(2, 2)
var shard_cell_size: float = 2048.0
var max_players_per_shard: int = 64
var max_players_per_session: int = 32
var vr_refresh_rate_hz: float = 90.0
var drain_timeout_seconds: int = 240
var mesh_enabled: bool = true
var mesh_handoff_timeout_ms: int = 2000


func _ready() -> void:
	version = read_version()
	environment_name = _env("SPACETIME_ENV", _env("ENVIRONMENT", environment_name))
	bind_address = _env("BIND_ADDRESS", _env("HTTP_HOST", bind_address))
	http_port = _env_int("HTTP_PORT", http_port)
	game_port = _env_int("GAME_PORT", game_port)
	tick_rate = clampi(_env_int("TICK_RATE", _env_int("SERVER_TICK_RATE", tick_rate)), 10, 240)
	max_players_per_server = clampi(_env_int("MAX_PLAYERS_PER_SERVER", max_players_per_server), 1, 4000)
	database_url = _env("DATABASE_URL", "")
	database_pool_size = clampi(_env_int("DATABASE_POOL_SIZE", database_pool_size), 1, 200)
	database_pool_timeout_seconds = clampi(_env_int("DATABASE_POOL_TIMEOUT_SECONDS", database_pool_timeout_seconds), 1, 60)
	database_ssl_mode = _env("DATABASE_SSL_MODE", "")
	redis_url = _env("REDIS_URL", "")
	redis_key_prefix = _env("REDIS_KEY_PREFIX", redis_key_prefix)
	server_data_dir = _env("SERVER_DATA_DIR", "")
	drain_timeout_seconds = clampi(_env_int("DRAIN_TIMEOUT_SECONDS", drain_timeout_seconds), 0, 3600)
	mesh_enabled = not (_env("MESH_ENABLED", "true").to_lower() in ["false", "0", "no", "off"])
	mesh_handoff_timeout_ms = clampi(_env_int("MESH_HANDOFF_TIMEOUT_MS", mesh_handoff_timeout_ms), 100, 60000)
	jwt_secret = _env("JWT_SECRET", "")
	jwt_ttl_seconds = clampi(_env_int("JWT_TTL_SECONDS", jwt_ttl_seconds), 60, 86400)
	api_key = _env("API_KEY", "")
	tls_cert_path = _env("TLS_CERT_PATH", "")
	tls_key_path = _env("TLS_KEY_PATH", "")
	pod_name = _env("POD_NAME", OS.get_environment("HOSTNAME"))
	public_game_host = _env("PUBLIC_GAME_HOST", "localhost")
	max_players_per_shard = maxi(1, _env_int("MAX_PLAYERS_PER_SHARD", max_players_per_shard))
	max_players_per_session = maxi(2, _env_int("MAX_PLAYERS_PER_SESSION", max_players_per_session))
	vr_refresh_rate_hz = clampf(_env_float("VR_REFRESH_RATE_HZ", vr_refresh_rate_hz), 60.0, 144.0)
	shard_grid = _parse_grid(_env("SHARD_GRID", "2x2"), shard_grid)
	shard_cell_size = maxf(64.0, _env_float("SHARD_CELL_SIZE", shard_cell_size))
	ServerLog.set_level_name(_env("LOG_LEVEL", "info"))
	ServerLog.json_format = _env("LOG_FORMAT", "json").to_lower() != "text"
	_apply_command_line(OS.get_cmdline_user_args())


## Returns the release version: first line of VERSION.txt next to the
## executable (the release package and the container image both ship it there),
## then SPACETIME_VERSION from the environment, then "dev".
func read_version() -> String:
	var candidates := PackedStringArray([OS.get_executable_path().get_base_dir().path_join(VERSION_FILE)])
	if not OS.has_feature("template"):
		candidates.append(ProjectSettings.globalize_path("res://").path_join(VERSION_FILE))
	for path: String in candidates:
		if not FileAccess.file_exists(path):
			continue
		for line: String in FileAccess.get_file_as_string(path).split("\n", false):
			var text := line.strip_edges()
			if not text.is_empty():
				return text
	var from_env := OS.get_environment("SPACETIME_VERSION").strip_edges()
	return from_env if not from_env.is_empty() else "dev"


## Lists configuration problems that must stop a production start.
func validate() -> PackedStringArray:
	var problems := PackedStringArray()
	if jwt_secret.length() < 32:
		problems.append("JWT_SECRET must be set and at least 32 characters long")
	if api_key.length() < 32:
		problems.append("API_KEY must be set and at least 32 characters long")
	if database_url.is_empty():
		problems.append("DATABASE_URL is not set")
	if is_production() and redis_url.is_empty():
		problems.append("REDIS_URL is required in production (cluster-wide session registry)")
	if http_port == game_port:
		problems.append("HTTP_PORT and GAME_PORT must differ")
	return problems


## Weaker settings that are allowed but logged as errors in production.
func security_warnings() -> PackedStringArray:
	var warnings := PackedStringArray()
	if tls_cert_path.is_empty() or tls_key_path.is_empty():
		warnings.append("TLS_CERT_PATH/TLS_KEY_PATH not set: game traffic on UDP %d is not encrypted" % game_port)
	return warnings


func is_production() -> bool:
	return environment_name == "production"


## Non-secret view of the configuration, logged once at start.
func describe() -> Dictionary:
	return {
		"version": version,
		"environment": environment_name,
		"http_port": http_port,
		"game_port": game_port,
		"tick_rate": tick_rate,
		"max_players_per_server": max_players_per_server,
		"database_pool_size": database_pool_size,
		"redis": not redis_url.is_empty(),
		"dtls": not tls_cert_path.is_empty(),
		"pod": pod_name,
		"shard_grid": "%dx%d" % [shard_grid.x, shard_grid.y],
		"mesh_enabled": mesh_enabled,
		"drain_timeout_seconds": drain_timeout_seconds,
		"max_players_per_shard": max_players_per_shard,
	}


func _apply_command_line(args: PackedStringArray) -> void:
	for arg: String in args:
		if not arg.begins_with("--") or not arg.contains("="):
			continue
		var key := arg.substr(2, arg.find("=") - 2)
		var value := arg.substr(arg.find("=") + 1)
		match key:
			"http-port":
				http_port = value.to_int()
			"game-port":
				game_port = value.to_int()
			"bind":
				bind_address = value
			"env":
				environment_name = value
			"log-level":
				ServerLog.set_level_name(value)
			"tick-rate":
				tick_rate = clampi(value.to_int(), 10, 240)
			_:
				ServerLog.warn("unknown command line option", {"option": key})


func _parse_grid(text: String, fallback: Vector2i) -> Vector2i:
	var parts := text.to_lower().split("x")
	if parts.size() != 2 or not parts[0].is_valid_int() or not parts[1].is_valid_int():
		return fallback
	return Vector2i(clampi(parts[0].to_int(), 1, 16), clampi(parts[1].to_int(), 1, 16))


func _env(name: String, fallback: String) -> String:
	var value := OS.get_environment(name)
	return value if not value.is_empty() else fallback


func _env_int(name: String, fallback: int) -> int:
	var value := OS.get_environment(name).strip_edges()
	return value.to_int() if value.is_valid_int() else fallback


func _env_float(name: String, fallback: float) -> float:
	var value := OS.get_environment(name).strip_edges()
	return value.to_float() if value.is_valid_float() else fallback
