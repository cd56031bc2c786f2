class_name GameTransport
extends Node
## Game traffic on UDP 7777 (ENet), encrypted with DTLS when TLS_CERT_PATH and
## TLS_KEY_PATH point at a certificate and key (the spacetime-vr-tls Secret in Kubernetes).
##
## Channels: 0 control (reliable), 1 player state (unreliable, sequenced),
##           2 VR telemetry (reliable).
## At most MAX_PLAYERS_PER_SERVER players are accepted; a few extra ENet peer slots
## let surplus clients receive a "server full" rejection instead of a timeout.
## A client must send {"type": "hello", "token": <join token>} on channel 0 within
## HELLO_TIMEOUT_MSEC of connecting, using the token from POST /api/v1/sessions/{id}/join.

enum Channel { CONTROL, STATE, TELEMETRY }

const CHANNEL_COUNT := 3
const HELLO_TIMEOUT_MSEC := 5000
const MAX_PACKET_BYTES := 4096
const DISCONNECT_DRAINING := 4001
const DISCONNECT_REJECTED := 4003
const DISCONNECT_TIMEOUT := 4008

var dtls_enabled := false
var vr_monitor: VRPerformanceMonitor

var _enet: ENetConnection
var _peers: Dictionary = {}          # ENetPacketPeer -> {player_id, session_id, since_msec}
var _peer_of_player: Dictionary = {} # player_id -> ENetPacketPeer


func start(bind_address: String, port: int, max_players: int, cert_path: String, key_path: String) -> Error:
	_enet = ENetConnection.new()
	var err := _enet.create_host_bound(bind_address, port, max_players + 16, CHANNEL_COUNT)
	if err != OK:
		return err
	if not cert_path.is_empty() and not key_path.is_empty():
		var cert := X509Certificate.new()
		var key := CryptoKey.new()
		if cert.load(cert_path) != OK or key.load(key_path) != OK:
			ServerLog.error("cannot load TLS certificate or key", {"cert": cert_path, "key": key_path})
			return ERR_FILE_CANT_READ
		err = _enet.dtls_server_setup(TLSOptions.server(key, cert))
		if err != OK:
			return err
		dtls_enabled = true
	else:
		ServerLog.warn("TLS_CERT_PATH/TLS_KEY_PATH not set: game traffic is NOT encrypted (development only)")
	ServerLog.info("game transport listening", {"port": port, "dtls": dtls_enabled})
	return OK


func stop() -> void:
	if _enet == null:
		return
	for peer: ENetPacketPeer in _peers.keys():
		peer.peer_disconnect_now(DISCONNECT_DRAINING)
	_peers.clear()
	_peer_of_player.clear()
	_enet.destroy()
	_enet = null


## Processes every pending network event; called once per server tick.
func service() -> void:
	if _enet == null:
		return
	while true:
		var event: Array = _enet.service(0)
		var kind: int = event[0]
		if kind == ENetConnection.EVENT_NONE:
			break
		if kind == ENetConnection.EVENT_ERROR:
			ServerLog.warn("enet service error")
			break
		var peer: ENetPacketPeer = event[1]
		if kind == ENetConnection.EVENT_CONNECT:
			_peers[peer] = {"player_id": "", "session_id": "", "since_msec": Time.get_ticks_msec()}
		elif kind == ENetConnection.EVENT_DISCONNECT:
			_forget(peer)
		elif kind == ENetConnection.EVENT_RECEIVE:
			_receive(peer, event[3], peer.get_packet())
	_expire_unauthenticated()


func send_to_player(player_id: String, message: Dictionary, channel: Channel = Channel.CONTROL) -> void:
	var peer: ENetPacketPeer = _peer_of_player.get(player_id, null)
	if peer == null:
		return
	var flags: int = ENetPacketPeer.FLAG_RELIABLE if channel != Channel.STATE else 0
	peer.send(channel, JSON.stringify(message).to_utf8_buffer(), flags)


func send_quality_hint(player_id: String, level: int, reason: String) -> void:
	ServerLog.info("quality hint", {"player_id": player_id, "level": level, "reason": reason})
	send_to_player(player_id, {"type": "quality_hint", "level": level, "reason": reason})


func broadcast_handoff(player_id: String, from_shard: String, to_shard: String) -> void:
	send_to_player(player_id, {"type": "handoff", "from": from_shard, "to": to_shard})


## Tells every connected client that this server drains, so it can move its player
## to a session on another server before the deadline.
func notify_draining(deadline_seconds: int) -> void:
	for player_id: String in _peer_of_player.keys():
		send_to_player(player_id, {"type": "draining", "deadline_seconds": deadline_seconds})


## Disconnects every player with the "draining" code; clients reconnect through matchmaking.
func disconnect_all_draining() -> void:
	for peer: ENetPacketPeer in _peers.keys():
		peer.peer_disconnect_later(DISCONNECT_DRAINING)


func connected_players() -> int:
	return _peer_of_player.size()


func _receive(peer: ENetPacketPeer, channel: int, packet: PackedByteArray) -> void:
	if not _peers.has(peer) or packet.size() > MAX_PACKET_BYTES:
		return
	var message: Variant = JSON.parse_string(packet.get_string_from_utf8())
	if typeof(message) != TYPE_DICTIONARY:
		return
	var state: Dictionary = _peers[peer]
	var player_id: String = state["player_id"]
	if player_id.is_empty():
		if channel == Channel.CONTROL and message.get("type", "") == "hello":
			_authenticate(peer, str(message.get("token", "")))
		return
	match str(message.get("type", "")):
		"state":
			var p: Variant = message.get("p", null)
			if typeof(p) == TYPE_ARRAY and (p as Array).size() == 3:
				var position := Vector3(float(p[0]), float(p[1]), float(p[2]))
				ShardRouter.update_position(player_id, position)
		"telemetry":
			if vr_monitor != null and typeof(message.get("frame_times_ms", null)) == TYPE_ARRAY:
				vr_monitor.record(player_id, message["frame_times_ms"],
					float(message.get("refresh_hz", ServerConfig.vr_refresh_rate_hz)),
					str(message.get("headset", "")), int(message.get("dropped_frames", 0)))
		"ping":
			send_to_player(player_id, {"type": "pong", "t": message.get("t", 0)})


func _authenticate(peer: ENetPacketPeer, token: String) -> void:
	var verified := JwtAuth.verify(token, ServerConfig.jwt_secret, JwtAuth.AUDIENCE_GAME)
	if not verified["ok"]:
		_reject(peer, str(verified["error"]))
		return
	var claims: Dictionary = verified["claims"]
	var player_id := str(claims["sub"])
	var session_id := str(claims.get("sid", ""))
	var spawn := Vector3.ZERO
	var spawn_claim: Variant = claims.get("spawn", null)
	if typeof(spawn_claim) == TYPE_ARRAY and (spawn_claim as Array).size() == 3:
		spawn = Vector3(float(spawn_claim[0]), float(spawn_claim[1]), float(spawn_claim[2]))
	if _peer_of_player.has(player_id):
		# Same player connecting again (e.g. after a network change): drop the old link.
		var old_peer: ENetPacketPeer = _peer_of_player[player_id]
		_peers.erase(old_peer)
		_peer_of_player.erase(player_id)
		old_peer.peer_disconnect_now(DISCONNECT_REJECTED)
	if _peer_of_player.size() >= ServerConfig.max_players_per_server:
		_reject(peer, "server full")
		return
	var reason: Array = []
	var shard := SessionManager.player_connected(player_id, session_id, spawn, reason)
	if shard.is_empty():
		_reject(peer, ", ".join(PackedStringArray(reason)))
		return
	_peers[peer]["player_id"] = player_id
	_peers[peer]["session_id"] = session_id
	_peer_of_player[player_id] = peer
	Metrics.set_gauge("spacetime_players_connected", _peer_of_player.size())
	send_to_player(player_id, {
		"type": "welcome",
		"player_id": player_id,
		"session_id": session_id,
		"shard_id": shard,
		"tick_rate": ServerConfig.tick_rate,
		"server_version": ServerConfig.version,
	})
	ServerLog.info("player connected", {"player_id": player_id, "session_id": session_id, "shard": shard,
		"address": peer.get_remote_address()})


func _reject(peer: ENetPacketPeer, reason: String) -> void:
	ServerLog.warn("game connection rejected", {"reason": reason, "address": peer.get_remote_address()})
	peer.send(Channel.CONTROL, JSON.stringify({"type": "reject", "reason": reason}).to_utf8_buffer(), ENetPacketPeer.FLAG_RELIABLE)
	peer.peer_disconnect_later(DISCONNECT_REJECTED)
	_peers.erase(peer)


func _forget(peer: ENetPacketPeer) -> void:
	if not _peers.has(peer):
		return
	var player_id: String = _peers[peer]["player_id"]
	_peers.erase(peer)
	if player_id.is_empty() or _peer_of_player.get(player_id) != peer:
		return
	_peer_of_player.erase(player_id)
	SessionManager.player_disconnected(player_id)
	if vr_monitor != null:
		vr_monitor.forget(player_id)
	Metrics.set_gauge("spacetime_players_connected", _peer_of_player.size())
	ServerLog.info("player disconnected", {"player_id": player_id})


func _expire_unauthenticated() -> void:
	var now := Time.get_ticks_msec()
	for peer: ENetPacketPeer in _peers.keys():
		var state: Dictionary = _peers[peer]
		if (state["player_id"] as String).is_empty() and now - int(state["since_msec"]) > HELLO_TIMEOUT_MSEC:
			_peers.erase(peer)
			peer.peer_disconnect_now(DISCONNECT_TIMEOUT)
