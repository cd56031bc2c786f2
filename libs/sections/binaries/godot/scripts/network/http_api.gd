class_name HttpApi
extends Node
## HTTP API on port 8080: /healthz, /readyz, /metrics and the REST API under /api/v1.
## TLS for public clients is terminated by the ingress in front of the pods; this
## listener is reachable only inside the cluster (see the NetworkPolicy).
##
## The operations here are described in docs/openapi/spacetime-api.yaml; keep the two in step.

enum Auth { NONE, BEARER, API_KEY, BEARER_OR_API_KEY }

const JSON_TYPE := "application/json; charset=utf-8"
const LOGIN_ATTEMPTS_PER_MINUTE := 10
const LIVENESS_TICK_TIMEOUT_MSEC := 10000

var _server := TCPServer.new()
var _connections: Array[HttpConnection] = []
var _routes: Array[Dictionary] = []
var _login_attempts: Dictionary = {}
var _max_connections := 256


func _ready() -> void:
	_route("GET", "/healthz", "/healthz", Auth.NONE, _get_healthz)
	_route("GET", "/readyz", "/readyz", Auth.NONE, _get_readyz)
	_route("GET", "/metrics", "/metrics", Auth.NONE, _get_metrics)
	_route("GET", "/api/v1/status", "/api/v1/status", Auth.NONE, _get_status)
	_route("POST", "/api/v1/auth/login", "/api/v1/auth/login", Auth.NONE, _post_login)
	_route("GET", "/api/v1/players/(?<playerId>[0-9a-fA-F-]{36})", "/api/v1/players/{playerId}", Auth.BEARER_OR_API_KEY, _get_player)
	_route("GET", "/api/v1/sessions", "/api/v1/sessions", Auth.BEARER_OR_API_KEY, _list_sessions)
	_route("POST", "/api/v1/sessions", "/api/v1/sessions", Auth.BEARER, _create_session)
	_route("GET", "/api/v1/sessions/(?<sessionId>[A-Za-z0-9_-]{8,64})", "/api/v1/sessions/{sessionId}", Auth.BEARER_OR_API_KEY, _get_session)
	_route("DELETE", "/api/v1/sessions/(?<sessionId>[A-Za-z0-9_-]{8,64})", "/api/v1/sessions/{sessionId}", Auth.BEARER_OR_API_KEY, _delete_session)
	_route("POST", "/api/v1/sessions/(?<sessionId>[A-Za-z0-9_-]{8,64})/join", "/api/v1/sessions/{sessionId}/join", Auth.BEARER, _join_session)
	_route("GET", "/api/v1/shards", "/api/v1/shards", Auth.BEARER_OR_API_KEY, _list_shards)
	_route("POST", "/api/v1/admin/drain", "/api/v1/admin/drain", Auth.API_KEY, _post_drain)
	# Kubernetes preStop hook (httpGet). Not routed by the Ingress.
	_route("GET", "/drain", "/drain", Auth.NONE, _get_drain)


func start(bind_address: String, port: int, max_connections: int) -> Error:
	_max_connections = max_connections
	var err := _server.listen(port, bind_address)
	if err == OK:
		ServerLog.info("http api listening", {"port": port})
	return err


func stop() -> void:
	for connection in _connections:
		connection.close()
	_connections.clear()
	_server.stop()


func _process(_delta: float) -> void:
	if not _server.is_listening():
		return
	while _server.is_connection_available():
		var peer := _server.take_connection()
		if _connections.size() >= _max_connections:
			peer.disconnect_from_host()
			continue
		_connections.append(HttpConnection.new(peer))
	for connection: HttpConnection in _connections.duplicate():
		if connection.state == HttpConnection.State.READING:
			if connection.poll_read():
				connection.state = HttpConnection.State.HANDLING
				_handle(connection)
			elif connection.is_timed_out():
				_send_error(connection, 408, "timeout", "request not received in time")
		elif connection.state == HttpConnection.State.WRITING:
			connection.poll_write()
		if connection.state == HttpConnection.State.DONE:
			connection.close()
			_connections.erase(connection)


func _route(method: String, pattern: String, template: String, auth: Auth, handler: Callable) -> void:
	var regex := RegEx.new()
	regex.compile("^" + pattern + "$")
	_routes.append({"method": method, "regex": regex, "template": template, "auth": auth, "handler": handler})


func _handle(connection: HttpConnection) -> void:
	var started_usec := Time.get_ticks_usec()
	if connection.parse_error_status != 0:
		_send_error(connection, connection.parse_error_status, "bad_request", "malformed request")
		return
	var req := connection.request
	var request_id := connection.header("x-request-id")
	if request_id.is_empty() or request_id.length() > 64:
		request_id = JwtAuth.random_id(12)
	req["request_id"] = request_id
	req["client_ip"] = _client_ip(connection)

	var route := {}
	var path_params := {}
	var path_matched := false
	for candidate in _routes:
		var m: RegExMatch = (candidate["regex"] as RegEx).search(req["path"])
		if m == null:
			continue
		path_matched = true
		if candidate["method"] == req["method"]:
			route = candidate
			for group_name: String in m.names:
				path_params[group_name] = m.get_string(group_name)
			break
	if route.is_empty():
		var status := 405 if path_matched else 404
		_finish(connection, req, "unmatched", {"status": status, "body": _error_body("not_found" if status == 404 else "method_not_allowed", "no such operation", request_id)}, started_usec)
		return
	req["params"] = path_params

	var principal := _authenticate(req, route["auth"])
	if principal.has("error"):
		_finish(connection, req, route["template"], {"status": 401, "body": _error_body("unauthorized", principal["error"], request_id),
			"headers": {"WWW-Authenticate": "Bearer realm=\"spacetime-vr\""}}, started_usec)
		return
	req["principal"] = principal

	if req["method"] == "POST":
		var content_type: String = connection.header("content-type")
		if not content_type.begins_with("application/json"):
			_finish(connection, req, route["template"], {"status": 415, "body": _error_body("unsupported_media_type", "send application/json", request_id)}, started_usec)
			return
		var parsed: Variant = {}
		if (req["body"] as PackedByteArray).size() > 0:
			parsed = JSON.parse_string((req["body"] as PackedByteArray).get_string_from_utf8())
		if typeof(parsed) != TYPE_DICTIONARY:
			_finish(connection, req, route["template"], {"status": 400, "body": _error_body("bad_request", "body must be a JSON object", request_id)}, started_usec)
			return
		req["json"] = parsed

	var result: Dictionary = await (route["handler"] as Callable).call(req)
	_finish(connection, req, route["template"], result, started_usec)


func _finish(connection: HttpConnection, req: Dictionary, template: String, result: Dictionary, started_usec: int) -> void:
	var status: int = result.get("status", 200)
	var headers: Dictionary = result.get("headers", {})
	headers["X-Request-ID"] = req.get("request_id", "")
	if result.has("text"):
		connection.respond(status, (result["text"] as String).to_utf8_buffer(), result.get("content_type", "text/plain; charset=utf-8"), headers)
	elif status == 204:
		connection.respond(status, PackedByteArray(), JSON_TYPE, headers)
	else:
		connection.respond(status, JSON.stringify(result.get("body", {})).to_utf8_buffer(), JSON_TYPE, headers)
	var method: String = req.get("method", "GET")
	var elapsed := (Time.get_ticks_usec() - started_usec) / 1000000.0
	Metrics.inc("spacetime_http_requests_total", {"method": method, "route": template, "status": str(status)})
	Metrics.observe("spacetime_http_request_duration_seconds", elapsed, {"method": method, "route": template})
	if status >= 500:
		ServerLog.error("request failed", {"request_id": req.get("request_id", ""), "route": template, "status": status})
	elif template.begins_with("/api/"):
		ServerLog.debug("request", {"request_id": req.get("request_id", ""), "route": template, "status": status})


func _send_error(connection: HttpConnection, status: int, code: String, message: String) -> void:
	_finish(connection, {"method": connection.request.get("method", "GET")}, "unmatched", {"status": status, "body": _error_body(code, message, "")}, Time.get_ticks_usec())


func _authenticate(req: Dictionary, auth: Auth) -> Dictionary:
	if auth == Auth.NONE:
		return {"kind": "anonymous"}
	var headers: Dictionary = req["headers"]
	var presented_key: String = headers.get("x-api-key", "")
	if auth in [Auth.API_KEY, Auth.BEARER_OR_API_KEY] and not presented_key.is_empty():
		if JwtAuth.api_key_matches(presented_key, ServerConfig.api_key):
			return {"kind": "operator"}
		return {"error": "invalid API key"}
	if auth == Auth.API_KEY:
		return {"error": "X-API-Key header required"}
	var token := JwtAuth.bearer_token(headers.get("authorization", ""))
	if token.is_empty():
		return {"error": "bearer token required"}
	var verified := JwtAuth.verify(token, ServerConfig.jwt_secret, JwtAuth.AUDIENCE_API)
	if not verified["ok"]:
		return {"error": verified["error"]}
	return {"kind": "player", "player_id": str(verified["claims"]["sub"])}


func _client_ip(connection: HttpConnection) -> String:
	# The ingress controller sets X-Forwarded-For; the NetworkPolicy only admits
	# port 8080 traffic from the ingress namespace and from monitoring.
	var forwarded := connection.header("x-forwarded-for")
	if not forwarded.is_empty():
		return forwarded.split(",")[0].strip_edges()
	return connection.remote_address


func _rate_limited(key: String, limit: int) -> bool:
	var now := Time.get_ticks_msec()
	var window: Array = _login_attempts.get(key, [])
	window = window.filter(func(t: int) -> bool: return now - t < 60000)
	if window.size() >= limit:
		_login_attempts[key] = window
		return true
	window.append(now)
	_login_attempts[key] = window
	if _login_attempts.size() > 10000:
		_login_attempts.clear()
	return false


func _error_body(code: String, message: String, request_id: String) -> Dictionary:
	return {"error": code, "message": message, "request_id": request_id}


func _ok(body: Variant, status: int = 200) -> Dictionary:
	return {"status": status, "body": body}


func _err(status: int, code: String, message: String, req: Dictionary) -> Dictionary:
	return {"status": status, "body": _error_body(code, message, req.get("request_id", ""))}


# --- operations ---------------------------------------------------------------

func _get_healthz(_req: Dictionary) -> Dictionary:
	var main := get_parent()
	var last_tick: int = main.get("last_tick_msec") if main != null else 0
	if last_tick > 0 and Time.get_ticks_msec() - last_tick > LIVENESS_TICK_TIMEOUT_MSEC:
		return {"status": 503, "body": {"status": "stalled", "detail": "simulation loop has not ticked for 10 s"}}
	return _ok({"status": "ok"})


func _get_readyz(_req: Dictionary) -> Dictionary:
	var database_ok: bool = await Database.ping()
	var redis_ok: bool = await SessionStore.ping()
	var checks := {
		"database": "ok" if database_ok else "unavailable",
		"redis": "ok" if redis_ok else "unavailable",
		"draining": SessionManager.draining,
	}
	var ready: bool = checks["database"] == "ok" and checks["redis"] == "ok" and not SessionManager.draining
	return {"status": 200 if ready else 503, "body": {"status": "ready" if ready else "not_ready", "checks": checks}}


func _get_metrics(_req: Dictionary) -> Dictionary:
	return {"status": 200, "text": Metrics.render(), "content_type": Metrics.CONTENT_TYPE}


func _get_status(_req: Dictionary) -> Dictionary:
	var main := get_parent()
	var started: int = main.get("started_msec") if main != null else 0
	return _ok({
		"version": ServerConfig.version,
		"environment": ServerConfig.environment_name,
		"pod": ServerConfig.pod_name,
		"uptime_seconds": floori((Time.get_ticks_msec() - started) / 1000.0),
		"players_connected": int(Metrics.value_of("spacetime_players_connected")),
		"sessions_active": SessionManager.local_session_count(),
		"shards_hosted": ShardRouter.shard_count(),
		"tick_rate_hz": ServerConfig.tick_rate,
		"draining": SessionManager.draining,
	})


func _post_login(req: Dictionary) -> Dictionary:
	if _rate_limited(req["client_ip"], LOGIN_ATTEMPTS_PER_MINUTE):
		var limited := _err(429, "rate_limited", "too many login attempts, retry in a minute", req)
		limited["headers"] = {"Retry-After": "60"}
		return limited
	var body: Dictionary = req["json"]
	var username := str(body.get("username", "")).strip_edges()
	var password := str(body.get("password", ""))
	if username.is_empty() or username.length() > 64 or password.is_empty() or password.length() > 256:
		return _err(400, "bad_request", "username and password are required", req)
	var result: Dictionary = await Database.query(
		"UPDATE players SET last_seen_at = now() WHERE username = $1 AND status = 'active' "
		+ "AND password_hash = crypt($2, password_hash) RETURNING id::text AS id, display_name",
		[username, password])
	if not result["ok"]:
		return _err(503, "database_unavailable", "login is temporarily unavailable", req)
	var rows: Array = result["rows"]
	if rows.is_empty():
		ServerLog.warn("login failed", {"request_id": req["request_id"], "client_ip": req["client_ip"]})
		return _err(401, "invalid_credentials", "unknown user or wrong password", req)
	var player: Dictionary = rows[0]
	var token := JwtAuth.issue({"sub": player["id"], "name": player["display_name"]},
		ServerConfig.jwt_secret, ServerConfig.jwt_ttl_seconds, JwtAuth.AUDIENCE_API)
	return _ok({"access_token": token, "token_type": "Bearer", "expires_in": ServerConfig.jwt_ttl_seconds, "player_id": player["id"]})


func _get_player(req: Dictionary) -> Dictionary:
	var player_id: String = req["params"]["playerId"]
	var result: Dictionary = await Database.query(
		"SELECT id::text AS id, display_name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
		+ "to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_seen_at, total_play_seconds "
		+ "FROM players WHERE id = $1::uuid", [player_id])
	if not result["ok"]:
		return _err(503, "database_unavailable", "player lookup is temporarily unavailable", req)
	if (result["rows"] as Array).is_empty():
		return _err(404, "not_found", "no such player", req)
	var player: Dictionary = result["rows"][0]
	player["current_session_id"] = SessionManager.session_of_player(player_id)
	return _ok(player)


func _list_sessions(req: Dictionary) -> Dictionary:
	var query: Dictionary = req["query"]
	var limit := clampi(str(query.get("limit", "50")).to_int(), 1, 200)
	var offset := maxi(0, str(query.get("offset", "0")).to_int())
	var items: Array = await SessionManager.list_sessions(str(query.get("state", "")), str(query.get("map", "")))
	return _ok({"items": items.slice(offset, offset + limit), "total": items.size(), "limit": limit, "offset": offset})


func _create_session(req: Dictionary) -> Dictionary:
	var result: Dictionary = await SessionManager.create_session(req["principal"]["player_id"], req["json"])
	if not result["ok"]:
		return _err(result["status"], result["error"], result["message"], req)
	return {"status": 201, "body": result["session"], "headers": {"Location": "/api/v1/sessions/" + str(result["session"]["id"])}}


func _get_session(req: Dictionary) -> Dictionary:
	var session: Dictionary = await SessionManager.get_session(req["params"]["sessionId"])
	if session.is_empty():
		return _err(404, "not_found", "no such session", req)
	return _ok(session)


func _delete_session(req: Dictionary) -> Dictionary:
	var principal: Dictionary = req["principal"]
	var result: Dictionary = await SessionManager.close_session(req["params"]["sessionId"],
		principal.get("player_id", ""), principal["kind"] == "operator")
	if not result["ok"]:
		return _err(result["status"], result["error"], result["message"], req)
	return {"status": 204}


func _join_session(req: Dictionary) -> Dictionary:
	var position := Vector3.ZERO
	var spawn: Variant = (req["json"] as Dictionary).get("spawn_position", null)
	if typeof(spawn) == TYPE_DICTIONARY:
		position = Vector3(float(spawn.get("x", 0.0)), float(spawn.get("y", 0.0)), float(spawn.get("z", 0.0)))
	var result: Dictionary = await SessionManager.join_session(req["params"]["sessionId"], req["principal"]["player_id"], position)
	if not result["ok"]:
		return _err(result["status"], result["error"], result["message"], req)
	return _ok(result["join"])


func _list_shards(_req: Dictionary) -> Dictionary:
	var shards := ShardRouter.describe_shards()
	return _ok({"items": shards, "total": shards.size(), "pod": ServerConfig.pod_name})


func _post_drain(req: Dictionary) -> Dictionary:
	var body: Dictionary = req["json"]
	var reason := str(body.get("reason", "operator request")).left(200)
	var deadline := clampi(int(body.get("deadline_seconds", ServerConfig.drain_timeout_seconds)), 0, 3600)
	ServerLog.warn("drain requested", {"request_id": req["request_id"], "reason": reason, "deadline_seconds": deadline})
	var summary := SessionManager.begin_drain(reason, deadline)
	return {"status": 202, "body": summary}


## preStop: starts draining with DRAIN_TIMEOUT_SECONDS and answers only once every
## player has left (or been disconnected at the deadline), so Kubernetes sends
## SIGTERM to an empty server. terminationGracePeriodSeconds must exceed the timeout.
func _get_drain(req: Dictionary) -> Dictionary:
	ServerLog.warn("drain requested by preStop hook", {"request_id": req["request_id"]})
	SessionManager.begin_drain("pod termination (preStop)", ServerConfig.drain_timeout_seconds)
	await SessionManager.wait_until_drained()
	return {"status": 200, "body": SessionManager.begin_drain("pod termination (preStop)", 0)}
