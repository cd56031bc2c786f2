extends Node
## Autoload "Metrics": an in-process Prometheus registry rendered by GET /metrics
## in the text exposition format (version 0.0.4).
##
## The metric names and labels below are part of the monitoring contract: the alert
## and recording rules in monitoring/prometheus and the Grafana dashboards query
## them by these names. Prometheus adds the pod, namespace and job labels.

const CONTENT_TYPE := "text/plain; version=0.0.4; charset=utf-8"

const HTTP_BUCKETS := [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
# Server tick budget at 90 Hz is 11.1 ms; buckets bracket it and its multiples.
const TICK_BUCKETS := [0.001, 0.002, 0.004, 0.006, 0.008, 0.0111, 0.0139, 0.0167, 0.0222, 0.0333, 0.05, 0.1]
# Handoffs complete within one tick unless the target shard is full.
const HANDOFF_BUCKETS := [0.001, 0.005, 0.011, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]
# Client frame budgets: 144 Hz 6.9 ms, 120 Hz 8.3 ms, 90 Hz 11.1 ms, 72 Hz 13.9 ms.
const FRAME_BUCKETS := [0.0056, 0.0069, 0.0083, 0.0111, 0.0139, 0.0167, 0.0222, 0.0333, 0.05]

var _families: Dictionary = {}
var _order: PackedStringArray = PackedStringArray()


func _ready() -> void:
	register_counter("spacetime_http_requests_total",
		"HTTP requests handled, by method, route template and status code.")
	register_histogram("spacetime_http_request_duration_seconds",
		"HTTP request handling time in seconds, by method and route template.", HTTP_BUCKETS)
	register_gauge("spacetime_players_connected",
		"Players with an established game connection on this server.")
	register_histogram("spacetime_server_tick_duration_seconds",
		"Wall time spent in one server simulation tick.", TICK_BUCKETS)
	register_gauge("spacetime_players_capacity",
		"Maximum players this server accepts (MAX_PLAYERS_PER_SERVER).")
	register_gauge("spacetime_server_fps",
		"Simulation ticks completed in the last second.")
	register_histogram("spacetime_vr_frame_time_seconds",
		"Client VR frame times reported by connected headsets, by headset model.", FRAME_BUCKETS)
	register_counter("spacetime_vr_dropped_frames_total",
		"Frames that headsets reported as dropped, by headset model.")
	register_gauge("spacetime_shard_players",
		"Players currently assigned to a world shard hosted by this server.")
	register_counter("spacetime_mesh_handoffs_total",
		"Player handoffs between shards, by result (success, rejected, failure).")
	register_histogram("spacetime_mesh_handoff_duration_seconds",
		"Time from a player crossing a shard border to the completed handoff.", HANDOFF_BUCKETS)
	register_gauge("spacetime_db_pool_in_use",
		"PostgreSQL connections currently checked out of the pool.")
	register_gauge("spacetime_db_pool_size",
		"PostgreSQL connections in the pool (DATABASE_POOL_SIZE).")
	register_gauge("spacetime_data_volume_available_bytes",
		"Free bytes on the server data volume (SERVER_DATA_DIR).")
	register_gauge("spacetime_data_volume_size_bytes",
		"Size in bytes of the server data volume (SERVER_DATA_DIR).")
	set_gauge("spacetime_players_connected", 0.0)
	set_gauge("spacetime_db_pool_in_use", 0.0)
	for result: String in ["success", "rejected", "failure"]:
		inc("spacetime_mesh_handoffs_total", {"result": result}, 0.0)


func register_counter(metric: String, help: String) -> void:
	_register(metric, "counter", help, [])


func register_gauge(metric: String, help: String) -> void:
	_register(metric, "gauge", help, [])


func register_histogram(metric: String, help: String, buckets: Array) -> void:
	_register(metric, "histogram", help, buckets)


func inc(metric: String, labels: Dictionary = {}, amount: float = 1.0) -> void:
	var series := _series(metric, labels)
	if series.is_empty():
		return
	if amount < 0.0:
		push_warning("counter %s cannot decrease" % metric)
		return
	series["value"] = float(series["value"]) + amount


func set_gauge(metric: String, value: float, labels: Dictionary = {}) -> void:
	var series := _series(metric, labels)
	if not series.is_empty():
		series["value"] = value


func remove_series(metric: String, labels: Dictionary) -> void:
	if _families.has(metric):
		(_families[metric]["series"] as Dictionary).erase(_label_key(labels))


func observe(metric: String, value: float, labels: Dictionary = {}) -> void:
	var series := _series(metric, labels)
	if series.is_empty():
		return
	var buckets: Array = _families[metric]["buckets"]
	var counts: PackedInt64Array = series["counts"]
	var index := buckets.size()
	for i in buckets.size():
		if value <= float(buckets[i]):
			index = i
			break
	counts[index] += 1
	series["counts"] = counts
	series["sum"] = float(series["sum"]) + value
	series["count"] = int(series["count"]) + 1


## Current value of a counter or gauge series; 0 when it does not exist.
func value_of(metric: String, labels: Dictionary = {}) -> float:
	if not _families.has(metric):
		return 0.0
	var series: Dictionary = (_families[metric]["series"] as Dictionary).get(_label_key(labels), {})
	return float(series.get("value", 0.0))


func render() -> String:
	var out := PackedStringArray()
	for metric: String in _order:
		var family: Dictionary = _families[metric]
		out.append("# HELP %s %s" % [metric, family["help"]])
		out.append("# TYPE %s %s" % [metric, family["type"]])
		var series_map: Dictionary = family["series"]
		var keys := series_map.keys()
		keys.sort()
		for key in keys:
			var series: Dictionary = series_map[key]
			var labels: Dictionary = series["labels"]
			if family["type"] == "histogram":
				_render_histogram(out, metric, family["buckets"], series, labels)
			else:
				out.append("%s%s %s" % [metric, _format_labels(labels), _format_number(series["value"])])
	return "\n".join(out) + "\n"


func _render_histogram(out: PackedStringArray, metric: String, buckets: Array, series: Dictionary, labels: Dictionary) -> void:
	var counts: PackedInt64Array = series["counts"]
	var cumulative := 0
	for i in buckets.size():
		cumulative += counts[i]
		var bucket_labels := labels.duplicate()
		bucket_labels["le"] = _format_number(buckets[i])
		out.append("%s_bucket%s %d" % [metric, _format_labels(bucket_labels), cumulative])
	cumulative += counts[buckets.size()]
	var inf_labels := labels.duplicate()
	inf_labels["le"] = "+Inf"
	out.append("%s_bucket%s %d" % [metric, _format_labels(inf_labels), cumulative])
	out.append("%s_sum%s %s" % [metric, _format_labels(labels), _format_number(series["sum"])])
	out.append("%s_count%s %d" % [metric, _format_labels(labels), int(series["count"])])


func _register(metric: String, kind: String, help: String, buckets: Array) -> void:
	if _families.has(metric):
		return
	_families[metric] = {"type": kind, "help": help, "buckets": buckets, "series": {}}
	_order.append(metric)


func _series(metric: String, labels: Dictionary) -> Dictionary:
	if not _families.has(metric):
		push_error("metric %s is not registered" % metric)
		return {}
	var family: Dictionary = _families[metric]
	var series_map: Dictionary = family["series"]
	var key := _label_key(labels)
	if not series_map.has(key):
		var series := {"labels": labels.duplicate(), "value": 0.0}
		if family["type"] == "histogram":
			var counts := PackedInt64Array()
			counts.resize((family["buckets"] as Array).size() + 1)
			counts.fill(0)
			series = {"labels": labels.duplicate(), "counts": counts, "sum": 0.0, "count": 0}
		series_map[key] = series
	return series_map[key]


func _label_key(labels: Dictionary) -> String:
	var keys := labels.keys()
	keys.sort()
	var parts := PackedStringArray()
	for key in keys:
		parts.append("%s=%s" % [key, labels[key]])
	return ",".join(parts)


func _format_labels(labels: Dictionary) -> String:
	if labels.is_empty():
		return ""
	var keys := labels.keys()
	keys.sort()
	var parts := PackedStringArray()
	for key in keys:
		var value := str(labels[key]).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
		parts.append("%s=\"%s\"" % [key, value])
	return "{" + ",".join(parts) + "}"


func _format_number(value: Variant) -> String:
	var number := float(value)
	if is_inf(number):
		return "+Inf" if number > 0 else "-Inf"
	if number == floorf(number) and absf(number) < 1e15:
		return str(int(number))
	return String.num(number, 6)
