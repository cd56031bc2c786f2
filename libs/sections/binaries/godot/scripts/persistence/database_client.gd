extends Node
## Autoload "Database": a fixed-size pool of PostgreSQL connections.
##
## DATABASE_URL:       postgresql://user:password@host:5432/spacetime_vr?sslmode=verify-full
## DATABASE_SSL_MODE:  sslmode when the URL names none (the URL wins)
## DATABASE_POOL_SIZE: number of connections (default 20); the gauges
##                     spacetime_db_pool_size and spacetime_db_pool_in_use report the
##                     size and how many connections are checked out.
## DATABASE_POOL_TIMEOUT_SECONDS: how long a query waits for a free connection (default 5).

const PING_CACHE_MSEC := 2000

var configured := false
var _pool: Array[PgConnection] = []
var _in_use := 0
var _last_ping_msec := -PING_CACHE_MSEC
var _last_ping_ok := false


func _ready() -> void:
	var url: String = ServerConfig.database_url
	if url.is_empty():
		ServerLog.warn("DATABASE_URL is not set; database features are unavailable")
		return
	var settings := parse_url(url)
	if settings.is_empty():
		ServerLog.error("DATABASE_URL is not a valid postgresql:// URL")
		return
	if settings["sslmode"].is_empty():
		settings["sslmode"] = ServerConfig.database_ssl_mode if not ServerConfig.database_ssl_mode.is_empty() else "prefer"
	for _i in ServerConfig.database_pool_size:
		_pool.append(PgConnection.new(settings))
	configured = true
	Metrics.set_gauge("spacetime_db_pool_size", _pool.size())
	if ServerConfig.is_production() and settings["sslmode"] != "verify-full":
		ServerLog.warn("DATABASE_URL should use sslmode=verify-full in production",
			{"sslmode": settings["sslmode"]})
	ServerLog.info("database pool configured", {"host": settings["host"], "database": settings["database"],
		"pool_size": _pool.size(), "sslmode": settings["sslmode"]})


## Parses postgresql://user:password@host:port/database?sslmode=...&sslrootcert=...
static func parse_url(url: String) -> Dictionary:
	var rest := ""
	for scheme: String in ["postgresql://", "postgres://"]:
		if url.begins_with(scheme):
			rest = url.substr(scheme.length())
	if rest.is_empty():
		return {}
	var options := {}
	var question := rest.find("?")
	if question >= 0:
		for pair: String in rest.substr(question + 1).split("&", false):
			var eq := pair.find("=")
			if eq > 0:
				options[pair.substr(0, eq)] = pair.substr(eq + 1).uri_decode()
		rest = rest.substr(0, question)
	var user := ""
	var password := ""
	var at := rest.rfind("@")
	if at >= 0:
		var userinfo := rest.substr(0, at)
		rest = rest.substr(at + 1)
		var colon := userinfo.find(":")
		user = (userinfo if colon < 0 else userinfo.substr(0, colon)).uri_decode()
		password = "" if colon < 0 else userinfo.substr(colon + 1).uri_decode()
	var slash := rest.find("/")
	var database := "spacetime_vr" if slash < 0 else rest.substr(slash + 1)
	var hostport := rest if slash < 0 else rest.substr(0, slash)
	var host := hostport
	var port := 5432
	var port_sep := hostport.rfind(":")
	if port_sep > 0 and hostport.substr(port_sep + 1).is_valid_int():
		host = hostport.substr(0, port_sep)
		port = hostport.substr(port_sep + 1).to_int()
	if host.is_empty() or user.is_empty():
		return {}
	return {
		"host": host, "port": port, "user": user, "password": password,
		"database": database if not database.is_empty() else "spacetime_vr",
		"sslmode": options.get("sslmode", ""),
		"sslrootcert": options.get("sslrootcert", ""),
	}


## Runs one parameterised statement on a pooled connection.
func query(sql: String, params: Array = []) -> Dictionary:
	if not configured:
		return {"ok": false, "error": "database not configured"}
	var connection: PgConnection = await _acquire()
	if connection == null:
		return {"ok": false, "error": "connection pool exhausted"}
	if not connection.connected:
		var opened: bool = await connection.open()
		if not opened:
			var reason := connection.last_error
			_release(connection)
			ServerLog.error("database connection failed", {"error": reason})
			return {"ok": false, "error": reason}
	var result: Dictionary = await connection.execute(sql, params)
	_release(connection)
	if not result["ok"]:
		ServerLog.warn("query failed", {"error": result["error"]})
	return result


## True when a trivial query succeeds; cached briefly so probes do not load the database.
func ping() -> bool:
	if Time.get_ticks_msec() - _last_ping_msec < PING_CACHE_MSEC:
		return _last_ping_ok
	_last_ping_msec = Time.get_ticks_msec()
	var result: Dictionary = await query("SELECT 1 AS ok")
	_last_ping_ok = result["ok"]
	return _last_ping_ok


func in_use() -> int:
	return _in_use


func close_all() -> void:
	for connection in _pool:
		connection.close()


func _acquire() -> PgConnection:
	var deadline: int = Time.get_ticks_msec() + ServerConfig.database_pool_timeout_seconds * 1000
	while Time.get_ticks_msec() < deadline:
		# Prefer an idle connection that is already open.
		var candidate: PgConnection = null
		for connection in _pool:
			if not connection.busy:
				candidate = connection
				if connection.connected:
					break
		if candidate != null:
			candidate.busy = true
			_in_use += 1
			Metrics.set_gauge("spacetime_db_pool_in_use", _in_use)
			return candidate
		await get_tree().process_frame
	return null


func _release(connection: PgConnection) -> void:
	if not connection.busy:
		return
	connection.busy = false
	_in_use -= 1
	Metrics.set_gauge("spacetime_db_pool_in_use", _in_use)
