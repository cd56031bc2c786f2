class_name VRPerformanceMonitor
extends Node
## Server side of VR performance: collects headset frame times that clients report
## on the telemetry channel and asks struggling clients to lower their detail level.
##
## Clients send a downsampled list of recent frame times (at most MAX_SAMPLES_PER_REPORT
## per report, about once per second) with their display refresh rate, headset model
## and the number of frames the compositor dropped since the last report. Every sample
## feeds spacetime_vr_frame_time_seconds{headset}, dropped frames feed
## spacetime_vr_dropped_frames_total{headset}. Per player, the 95th percentile
## of each window of WINDOW_SAMPLES samples is compared with the frame budget
## (1 / refresh rate):
##   p95 > budget * OVER_BUDGET_RATIO for OVER_WINDOWS windows in a row  -> one level lower detail
##   p95 < budget * UNDER_BUDGET_RATIO for UNDER_WINDOWS windows in a row -> one level higher detail
## Level 0 is full detail, MAX_LEVEL the most reduced.

signal quality_hint(player_id: String, level: int, reason: String)

const MAX_SAMPLES_PER_REPORT := 120
const WINDOW_SAMPLES := 90
const OVER_BUDGET_RATIO := 1.1
const UNDER_BUDGET_RATIO := 0.8
const OVER_WINDOWS := 2
const UNDER_WINDOWS := 5
const MAX_LEVEL := 3
const MIN_FRAME_MS := 0.5
const MAX_FRAME_MS := 250.0
const SUPPORTED_REFRESH_HZ := [72, 80, 90, 120, 144]
const MAX_DROPPED_PER_REPORT := 1000
# Headset label values are client-supplied: sanitised, and capped in number so a
# misbehaving client cannot create unbounded time series.
const MAX_HEADSET_LABELS := 16

var _players: Dictionary = {}
var _headset_labels: Dictionary = {}
var _headset_pattern := RegEx.create_from_string("[^a-z0-9_]+")


func record(player_id: String, frame_times_ms: Array, refresh_hz: float, headset: String = "", dropped_frames: int = 0) -> void:
	var hz := _nearest_refresh(refresh_hz)
	var label := {"headset": headset_label(headset)}
	if dropped_frames > 0:
		Metrics.inc("spacetime_vr_dropped_frames_total", label, mini(dropped_frames, MAX_DROPPED_PER_REPORT))
	var state: Dictionary = _players.get(player_id, {})
	if state.is_empty():
		state = {"samples": PackedFloat32Array(), "level": 0, "over": 0, "under": 0}
		_players[player_id] = state
	var samples: PackedFloat32Array = state["samples"]
	var count := mini(frame_times_ms.size(), MAX_SAMPLES_PER_REPORT)
	for i in count:
		var value: Variant = frame_times_ms[i]
		if typeof(value) != TYPE_FLOAT and typeof(value) != TYPE_INT:
			continue
		var ms := clampf(float(value), MIN_FRAME_MS, MAX_FRAME_MS)
		Metrics.observe("spacetime_vr_frame_time_seconds", ms / 1000.0, label)
		samples.append(ms)
		if samples.size() >= WINDOW_SAMPLES:
			_evaluate_window(player_id, state, samples, 1000.0 / hz)
			samples = PackedFloat32Array()
	state["samples"] = samples


func forget(player_id: String) -> void:
	_players.erase(player_id)


## "Meta Quest 3" -> "meta_quest_3"; unknown beyond MAX_HEADSET_LABELS -> "other".
func headset_label(headset: String) -> String:
	var value := _headset_pattern.sub(headset.strip_edges().to_lower(), "_", true).trim_prefix("_").trim_suffix("_").left(32)
	if value.is_empty():
		return "unknown"
	if _headset_labels.has(value):
		return value
	if _headset_labels.size() >= MAX_HEADSET_LABELS:
		return "other"
	_headset_labels[value] = true
	return value


func level_of(player_id: String) -> int:
	return int((_players.get(player_id, {}) as Dictionary).get("level", 0))


static func percentile(values: PackedFloat32Array, fraction: float) -> float:
	if values.is_empty():
		return 0.0
	var sorted := values.duplicate()
	sorted.sort()
	var index := clampi(ceili(fraction * sorted.size()) - 1, 0, sorted.size() - 1)
	return sorted[index]


func _evaluate_window(player_id: String, state: Dictionary, samples: PackedFloat32Array, budget_ms: float) -> void:
	var p95 := percentile(samples, 0.95)
	var level: int = state["level"]
	if p95 > budget_ms * OVER_BUDGET_RATIO:
		state["over"] = int(state["over"]) + 1
		state["under"] = 0
		if int(state["over"]) >= OVER_WINDOWS and level < MAX_LEVEL:
			state["level"] = level + 1
			state["over"] = 0
			quality_hint.emit(player_id, level + 1, "p95 frame time %.1f ms over %.1f ms budget" % [p95, budget_ms])
	elif p95 < budget_ms * UNDER_BUDGET_RATIO:
		state["under"] = int(state["under"]) + 1
		state["over"] = 0
		if int(state["under"]) >= UNDER_WINDOWS and level > 0:
			state["level"] = level - 1
			state["under"] = 0
			quality_hint.emit(player_id, level - 1, "p95 frame time %.1f ms well within %.1f ms budget" % [p95, budget_ms])
	else:
		state["over"] = 0
		state["under"] = 0


func _nearest_refresh(refresh_hz: float) -> int:
	var best: int = SUPPORTED_REFRESH_HZ[0]
	for hz: int in SUPPORTED_REFRESH_HZ:
		if absf(hz - refresh_hz) < absf(best - refresh_hz):
			best = hz
	return best
