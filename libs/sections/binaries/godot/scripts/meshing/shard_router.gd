extends Node
## Autoload "ShardRouter": server meshing. The world is cut into a grid of square
## shards on the horizontal (x, z) plane; every player belongs to exactly one shard,
## and moving across a shard boundary hands the player over to the neighbouring shard.
##
## A player is only handed over once they are HYSTERESIS_METERS past the boundary,
## so someone standing on a border does not bounce between shards every tick.
## Handoff results are counted in spacetime_mesh_handoffs_total{result}:
##   success   the player now belongs to the target shard
##   rejected  the target shard is full or draining; the player stays where they are
##             and the handoff is retried with the next position update
##   failure   the handoff could not complete within MESH_HANDOFF_TIMEOUT_MS, or the
##             player is unknown to the router (a race with a disconnect)
## spacetime_mesh_handoff_duration_seconds measures the time from the first attempt
## (the player crossing the border) to the completed handoff.
## With MESH_ENABLED=false the whole world is a single shard.

signal handoff_completed(player_id: String, from_shard: String, to_shard: String)

const HYSTERESIS_METERS := 16.0

var grid := Vector2i(2, 2)
var cell_size := 2048.0
var capacity := 64
var handoff_timeout_msec := 2000
var draining := false

var _shards: Dictionary = {}
var _player_shard: Dictionary = {}
var _pending_since: Dictionary = {}  # player_id -> msec of the first handoff attempt
var _timed_out: Dictionary = {}      # player_id -> true once a pending handoff counted as failure
var _metrics: Node = null


func _ready() -> void:
	_metrics = get_node_or_null("/root/Metrics")
	var config := get_node_or_null("/root/ServerConfig")
	if config == null:
		configure(grid, cell_size, capacity)
		return
	handoff_timeout_msec = config.mesh_handoff_timeout_ms
	if config.mesh_enabled:
		configure(config.shard_grid, config.shard_cell_size, config.max_players_per_shard)
	else:
		var grid_size: Vector2i = config.shard_grid
		configure(Vector2i(1, 1), config.shard_cell_size * maxi(grid_size.x, grid_size.y), config.max_players_per_server)


func configure(new_grid: Vector2i, new_cell_size: float, new_capacity: int) -> void:
	grid = new_grid
	cell_size = new_cell_size
	capacity = new_capacity
	_shards.clear()
	_player_shard.clear()
	_pending_since.clear()
	_timed_out.clear()
	var origin := _world_origin()
	for ix in grid.x:
		for iz in grid.y:
			var id := shard_id_for_cell(Vector2i(ix, iz))
			var min_corner := origin + Vector2(ix, iz) * cell_size
			_shards[id] = {
				"id": id,
				"cell": Vector2i(ix, iz),
				"rect": Rect2(min_corner, Vector2(cell_size, cell_size)),
				"players": {},
			}
			_publish_count(id)


func shard_count() -> int:
	return _shards.size()


static func shard_id_for_cell(cell: Vector2i) -> String:
	return "shard-%d-%d" % [cell.x, cell.y]


## Shard that owns a world position; positions outside the world clamp to the edge shards.
func shard_for_position(position: Vector3) -> String:
	var local := (Vector2(position.x, position.z) - _world_origin()) / cell_size
	var cell := Vector2i(clampi(floori(local.x), 0, grid.x - 1), clampi(floori(local.y), 0, grid.y - 1))
	return shard_id_for_cell(cell)


func shard_of_player(player_id: String) -> String:
	return _player_shard.get(player_id, "")


func player_count(shard_id: String) -> int:
	if not _shards.has(shard_id):
		return 0
	return (_shards[shard_id]["players"] as Dictionary).size()


## Places a newly connected player. Returns the shard id, or "" when every candidate is full.
func assign_player(player_id: String, position: Vector3) -> String:
	remove_player(player_id)
	var preferred := shard_for_position(position)
	var target := preferred
	if not _has_room(target):
		target = ""
		var best := INF
		for id: String in _shards:
			if _has_room(id):
				var distance: float = (_shards[id]["rect"] as Rect2).get_center().distance_to(Vector2(position.x, position.z))
				if distance < best:
					best = distance
					target = id
	if target.is_empty():
		return ""
	_shards[target]["players"][player_id] = true
	_player_shard[player_id] = target
	_publish_count(target)
	return target


func remove_player(player_id: String) -> void:
	var current: String = _player_shard.get(player_id, "")
	if current.is_empty():
		return
	(_shards[current]["players"] as Dictionary).erase(player_id)
	_player_shard.erase(player_id)
	_clear_pending(player_id)
	_publish_count(current)


## Called with every position update. Returns "" when the player stays in their
## shard (or a handoff is still pending after a rejection was counted), otherwise
## the handoff result ("success", "rejected" or "failure").
func update_position(player_id: String, position: Vector3) -> String:
	var current: String = _player_shard.get(player_id, "")
	if current.is_empty() or not _shards.has(current):
		_count_handoff("failure")
		return "failure"
	var point := Vector2(position.x, position.z)
	var current_rect: Rect2 = _shards[current]["rect"]
	if current_rect.grow(HYSTERESIS_METERS).has_point(point):
		_clear_pending(player_id)  # back inside: nothing pending any more
		return ""
	var target := shard_for_position(position)
	if target == current:
		return ""  # outside the world edge: stay on the edge shard
	var now := Time.get_ticks_msec()
	var first_attempt := not _pending_since.has(player_id)
	if first_attempt:
		_pending_since[player_id] = now
	if not _has_room(target):
		if first_attempt:
			_count_handoff("rejected")
			return "rejected"
		return ""
	(_shards[current]["players"] as Dictionary).erase(player_id)
	_shards[target]["players"][player_id] = true
	_player_shard[player_id] = target
	_publish_count(current)
	_publish_count(target)
	_count_handoff("success")
	if _metrics != null:
		_metrics.observe("spacetime_mesh_handoff_duration_seconds", (now - int(_pending_since[player_id])) / 1000.0)
	_clear_pending(player_id)
	handoff_completed.emit(player_id, current, target)
	return "success"


## Runs every server tick: pending handoffs older than the handoff timeout count as
## failures once; the player keeps playing in their current shard.
func tick() -> void:
	if _pending_since.is_empty():
		return
	var now := Time.get_ticks_msec()
	for player_id: String in _pending_since.keys():
		if _timed_out.has(player_id):
			continue
		if now - int(_pending_since[player_id]) > handoff_timeout_msec:
			_count_handoff("failure")
			_timed_out[player_id] = true


func pending_handoffs() -> int:
	return _pending_since.size()


func _clear_pending(player_id: String) -> void:
	_pending_since.erase(player_id)
	_timed_out.erase(player_id)


func set_draining(value: bool) -> void:
	draining = value


func describe_shards() -> Array:
	var out: Array = []
	var ids := _shards.keys()
	ids.sort()
	var pod := ""
	var config := get_node_or_null("/root/ServerConfig")
	if config != null:
		pod = config.pod_name
	for id: String in ids:
		var rect: Rect2 = _shards[id]["rect"]
		out.append({
			"id": id,
			"region": {"min_x": rect.position.x, "min_z": rect.position.y, "max_x": rect.end.x, "max_z": rect.end.y},
			"players": player_count(id),
			"capacity": capacity,
			"state": "draining" if draining else "active",
			"pod": pod,
		})
	return out


func _has_room(shard_id: String) -> bool:
	return not draining and _shards.has(shard_id) and player_count(shard_id) < capacity


func _world_origin() -> Vector2:
	return -Vector2(grid.x, grid.y) * cell_size / 2.0


func _publish_count(shard_id: String) -> void:
	if _metrics != null:
		_metrics.set_gauge("spacetime_shard_players", float(player_count(shard_id)), {"shard": shard_id})


func _count_handoff(result: String) -> void:
	if _metrics != null:
		_metrics.inc("spacetime_mesh_handoffs_total", {"result": result})
