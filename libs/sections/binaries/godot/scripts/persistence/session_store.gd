extends Node
## Autoload "SessionStore": the cluster-wide session registry in Redis.
##
## Each pod owns the sessions it hosts and publishes them as
##   <prefix>session:<id>   JSON, expires after SESSION_TTL_SECONDS unless refreshed
##   <prefix>sessions       set of known session ids (index for listing)
## where <prefix> is REDIS_KEY_PREFIX (default "spacetime:").
## A pod that dies stops refreshing its keys, so its sessions disappear from the
## listing within SESSION_TTL_SECONDS instead of lingering.
## Without REDIS_URL (local development) the registry is this process only.

const SESSION_TTL_SECONDS := 30
# JSON has one number type; these fields go back to integers after a round trip.
const INT_FIELDS := ["max_players", "player_count"]

var enabled := false
var key_prefix := "spacetime:session:"
var index_key := "spacetime:sessions"
var _client: RedisClient


func _ready() -> void:
	key_prefix = ServerConfig.redis_key_prefix + "session:"
	index_key = ServerConfig.redis_key_prefix + "sessions"
	var url: String = ServerConfig.redis_url
	if url.is_empty():
		ServerLog.warn("REDIS_URL is not set; sessions are visible on this server only")
		return
	_client = RedisClient.from_url(url)
	if _client == null:
		ServerLog.error("REDIS_URL is not a valid redis:// or rediss:// URL")
		return
	enabled = true


func ping() -> bool:
	if not enabled:
		return not ServerConfig.is_production()
	var reply: Dictionary = await _client.command(["PING"])
	return reply["ok"] and reply["value"] == "PONG"


func save_session(session: Dictionary) -> bool:
	if not enabled:
		return true
	var id: String = session["id"]
	var stored: Dictionary = await _client.command(["SET", key_prefix + id, JSON.stringify(session), "EX", str(SESSION_TTL_SECONDS)])
	if not stored["ok"]:
		ServerLog.warn("session publish failed", {"session_id": id, "error": stored["error"]})
		return false
	var indexed: Dictionary = await _client.command(["SADD", index_key, id])
	return indexed["ok"]


func load_session(session_id: String) -> Dictionary:
	if not enabled:
		return {}
	var reply: Dictionary = await _client.command(["GET", key_prefix + session_id])
	if not reply["ok"] or reply["value"] == null:
		return {}
	var parsed: Variant = JSON.parse_string(str(reply["value"]))
	return _normalize(parsed) if typeof(parsed) == TYPE_DICTIONARY else {}


## Marks a session as closing; the pod that hosts it closes it on its next heartbeat.
func request_close(session_id: String) -> bool:
	var session: Dictionary = await load_session(session_id)
	if session.is_empty():
		return false
	session["state"] = "closing"
	return await save_session(session)


func delete_session(session_id: String) -> void:
	if not enabled:
		return
	await _client.command(["DEL", key_prefix + session_id])
	await _client.command(["SREM", index_key, session_id])


## All live sessions in the cluster. Index entries whose key expired are pruned.
func load_all() -> Array:
	if not enabled:
		return []
	var members: Dictionary = await _client.command(["SMEMBERS", index_key])
	if not members["ok"] or (members["value"] as Array).is_empty():
		return []
	var ids: Array = members["value"]
	var keys: Array = ["MGET"]
	for id in ids:
		keys.append(key_prefix + str(id))
	var values: Dictionary = await _client.command(keys)
	if not values["ok"]:
		return []
	var sessions: Array = []
	var stale: Array = ["SREM", index_key]
	for i in ids.size():
		var raw: Variant = (values["value"] as Array)[i]
		if raw == null:
			stale.append(ids[i])
			continue
		var parsed: Variant = JSON.parse_string(str(raw))
		if typeof(parsed) == TYPE_DICTIONARY:
			sessions.append(_normalize(parsed))
	if stale.size() > 2:
		await _client.command(stale)
	return sessions


func _normalize(session: Dictionary) -> Dictionary:
	for field: String in INT_FIELDS:
		if session.has(field):
			session[field] = int(session[field])
	var endpoint: Variant = session.get("endpoint", null)
	if typeof(endpoint) == TYPE_DICTIONARY and endpoint.has("port"):
		endpoint["port"] = int(endpoint["port"])
	return session
