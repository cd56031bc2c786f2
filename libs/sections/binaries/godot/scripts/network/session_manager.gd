extends Node
## Autoload "SessionManager": game sessions hosted by this server, player
## membership, join tokens and graceful draining.
##
## Sessions live in this process (authoritative) and are published to the
## cluster-wide registry (SessionStore) so that any pod can list them.

signal drain_started(deadline_seconds: int)
signal drain_deadline_reached
signal session_closed(session_id: String)

const JOIN_TOKEN_TTL_SECONDS := 60
const MAX_SESSIONS_PER_SERVER := 200
const MAX_SESSIONS_PER_HOST := 3
const DEFAULT_MAP := "orbital_station"

var draining := false
var drain_reason := ""
var drain_started_unix := 0
var drain_deadline_msec := 0

var _sessions: Dictionary = {}
var _player_session: Dictionary = {}
var _name_pattern := RegEx.create_from_string("^[\\p{L}\\p{N} _'().-]{1,64}$")
var _map_pattern := RegEx.create_from_string("^[a-z0-9_]{1,32}$")
var _deadline_signalled := false
var _heartbeat_running := false


func create_session(host_player_id: String, body: Dictionary) -> Dictionary:
	if draining:
		return _failure(503, "draining", "this server is draining and accepts no new sessions")
	if _sessions.size() >= MAX_SESSIONS_PER_SERVER:
		return _failure(503, "server_full", "this server hosts the maximum number of sessions")
	var hosted := 0
	for id: String in _sessions:
		if _sessions[id]["public"]["host_player_id"] == host_player_id:
			hosted += 1
	if hosted >= MAX_SESSIONS_PER_HOST:
		return _failure(409, "too_many_sessions", "a player can host at most %d sessions at a time" % MAX_SESSIONS_PER_HOST)
	var session_name := str(body.get("name", "")).strip_edges()
	if _name_pattern.search(session_name) == null:
		return _failure(400, "bad_request", "name must be 1-64 letters, digits, spaces or . _ - ' ( )")
	var map_name := str(body.get("map", DEFAULT_MAP))
	if _map_pattern.search(map_name) == null:
		return _failure(400, "bad_request", "map must match ^[a-z0-9_]{1,32}$")
	var max_players := int(body.get("max_players", ServerConfig.max_players_per_session))
	if max_players < 2 or max_players > ServerConfig.max_players_per_session:
		return _failure(400, "bad_request", "max_players must be between 2 and %d" % ServerConfig.max_players_per_session)
	var session := {
		"id": "ses_" + JwtAuth.random_id(12),
		"name": session_name,
		"map": map_name,
		"host_player_id": host_player_id,
		"max_players": max_players,
		"player_count": 0,
		"state": "open",
		"private": bool(body.get("private", false)),
		"shard_id": ShardRouter.shard_for_position(Vector3.ZERO),
		"pod": ServerConfig.pod_name,
		"created_at": Time.get_datetime_string_from_system(true) + "Z",
		"endpoint": {"host": ServerConfig.public_game_host, "port": ServerConfig.game_port, "protocol": "udp"},
	}
	_sessions[session["id"]] = {"public": session, "players": {}}
	await SessionStore.save_session(session)
	ServerLog.info("session created", {"session_id": session["id"], "host_player_id": host_player_id, "map": map_name})
	return {"ok": true, "session": session}


func get_session(session_id: String) -> Dictionary:
	if _sessions.has(session_id):
		return _sessions[session_id]["public"]
	var remote: Dictionary = await SessionStore.load_session(session_id)
	return remote


func list_sessions(state_filter: String, map_filter: String) -> Array:
	var items: Array = []
	if SessionStore.enabled:
		items = await SessionStore.load_all()
	else:
		for id: String in _sessions:
			items.append(_sessions[id]["public"])
	var filtered: Array = []
	for item: Dictionary in items:
		if bool(item.get("private", false)):
			continue
		if not state_filter.is_empty() and item.get("state", "") != state_filter:
			continue
		if not map_filter.is_empty() and item.get("map", "") != map_filter:
			continue
		filtered.append(item)
	filtered.sort_custom(func(a: Dictionary, b: Dictionary) -> bool: return str(a.get("created_at", "")) < str(b.get("created_at", "")))
	return filtered


func close_session(session_id: String, player_id: String, is_operator: bool) -> Dictionary:
	var session: Dictionary = await get_session(session_id)
	if session.is_empty():
		return _failure(404, "not_found", "no such session")
	if not is_operator and session.get("host_player_id", "") != player_id:
		return _failure(403, "forbidden", "only the session host or an operator can close a session")
	if _sessions.has(session_id):
		await _close_local(session_id, "closed by " + ("operator" if is_operator else "host"))
		return {"ok": true}
	var requested: bool = await SessionStore.request_close(session_id)
	if not requested:
		return _failure(404, "not_found", "no such session")
	return {"ok": true}


## Issues a join token for the game transport. The player counts as a member only
## once they connect on UDP with that token (see player_connected).
func join_session(session_id: String, player_id: String, spawn: Vector3) -> Dictionary:
	if draining:
		return _failure(503, "draining", "this server is draining; pick a session on another server")
	var session: Dictionary = await get_session(session_id)
	if session.is_empty():
		return _failure(404, "not_found", "no such session")
	if session.get("state", "") != "open":
		return _failure(409, "session_closed", "the session is not accepting players")
	if int(session.get("player_count", 0)) >= int(session.get("max_players", 0)):
		return _failure(409, "session_full", "the session is full")
	var token := JwtAuth.issue({"sub": player_id, "sid": session_id, "spawn": [spawn.x, spawn.y, spawn.z]},
		ServerConfig.jwt_secret, JOIN_TOKEN_TTL_SECONDS, JwtAuth.AUDIENCE_GAME)
	return {"ok": true, "join": {
		"session_id": session_id,
		"player_id": player_id,
		"join_token": token,
		"expires_in": JOIN_TOKEN_TTL_SECONDS,
		"endpoint": session.get("endpoint", {}),
		"shard_id": ShardRouter.shard_for_position(spawn),
	}}


## Called by the game transport after a valid join token arrived on UDP.
## Returns the shard id the player was placed in, or "" with a reason in `reason`.
func player_connected(player_id: String, session_id: String, spawn: Vector3, reason: Array) -> String:
	if draining:
		reason.append("server draining")
		return ""
	if not _sessions.has(session_id):
		reason.append("session is not hosted on this server")
		return ""
	var entry: Dictionary = _sessions[session_id]
	var session: Dictionary = entry["public"]
	if session["state"] != "open" or (entry["players"] as Dictionary).size() >= int(session["max_players"]):
		reason.append("session closed or full")
		return ""
	player_disconnected(player_id)
	var shard: String = ShardRouter.assign_player(player_id, spawn)
	if shard.is_empty():
		reason.append("no shard has room")
		return ""
	entry["players"][player_id] = true
	_player_session[player_id] = session_id
	session["player_count"] = (entry["players"] as Dictionary).size()
	return shard


func player_disconnected(player_id: String) -> void:
	var session_id: String = _player_session.get(player_id, "")
	_player_session.erase(player_id)
	ShardRouter.remove_player(player_id)
	if session_id.is_empty() or not _sessions.has(session_id):
		return
	var entry: Dictionary = _sessions[session_id]
	(entry["players"] as Dictionary).erase(player_id)
	entry["public"]["player_count"] = (entry["players"] as Dictionary).size()


func session_of_player(player_id: String) -> Variant:
	return _player_session.get(player_id, null)


func local_session_count() -> int:
	return _sessions.size()


func connected_player_count() -> int:
	return _player_session.size()


## Waits until no player is left on this server or the drain deadline has passed.
func wait_until_drained() -> void:
	while draining and not _player_session.is_empty() and Time.get_ticks_msec() < drain_deadline_msec + 2000:
		await get_tree().create_timer(0.5).timeout


func players_in_session(session_id: String) -> Array:
	if not _sessions.has(session_id):
		return []
	return (_sessions[session_id]["players"] as Dictionary).keys()


## Stops accepting sessions and joins. Connected players keep playing until the
## deadline; then drain_deadline_reached fires and the transport disconnects them
## with a "server draining" reason so clients reconnect elsewhere.
func begin_drain(reason: String, deadline_seconds: int) -> Dictionary:
	if not draining:
		draining = true
		drain_reason = reason
		drain_started_unix = int(Time.get_unix_time_from_system())
		drain_deadline_msec = Time.get_ticks_msec() + deadline_seconds * 1000
		_deadline_signalled = false
		ShardRouter.set_draining(true)
		for id: String in _sessions:
			_sessions[id]["public"]["state"] = "draining"
		ServerLog.warn("draining", {"reason": reason, "deadline_seconds": deadline_seconds,
			"sessions": _sessions.size(), "players": _player_session.size()})
		drain_started.emit(deadline_seconds)
	return {
		"draining": true,
		"reason": drain_reason,
		"started_at": Time.get_datetime_string_from_unix_time(drain_started_unix) + "Z",
		"deadline_seconds": maxi(0, floori((drain_deadline_msec - Time.get_ticks_msec()) / 1000.0)),
		"sessions_remaining": _sessions.size(),
		"players_remaining": _player_session.size(),
	}


## Runs every server tick.
func tick() -> void:
	if draining and not _deadline_signalled and Time.get_ticks_msec() >= drain_deadline_msec:
		_deadline_signalled = true
		ServerLog.warn("drain deadline reached", {"players_remaining": _player_session.size()})
		drain_deadline_reached.emit()


## Runs every few seconds: republishes sessions (keeps their registry keys alive),
## closes sessions another pod asked to close, and drops empty sessions when draining.
func heartbeat() -> void:
	if _heartbeat_running:
		return
	_heartbeat_running = true
	for id: String in _sessions.keys():
		if not _sessions.has(id):
			continue
		var remote: Dictionary = await SessionStore.load_session(id)
		if remote.get("state", "") == "closing":
			await _close_local(id, "close requested through another server")
			continue
		if draining and (_sessions[id]["players"] as Dictionary).is_empty():
			await _close_local(id, "drained")
			continue
		if _sessions.has(id):
			await SessionStore.save_session(_sessions[id]["public"])
	_heartbeat_running = false


func _close_local(session_id: String, why: String) -> void:
	if not _sessions.has(session_id):
		return
	for player_id in players_in_session(session_id):
		_player_session.erase(player_id)
		ShardRouter.remove_player(player_id)
	_sessions.erase(session_id)
	await SessionStore.delete_session(session_id)
	ServerLog.info("session closed", {"session_id": session_id, "reason": why})
	session_closed.emit(session_id)


func _failure(status: int, code: String, message: String) -> Dictionary:
	return {"ok": false, "status": status, "error": code, "message": message}
