class_name ServerLog
extends RefCounted
## Structured logging: one JSON object per line on stdout (stderr for errors),
## so that `kubectl logs` output can be filtered with jq and shipped as-is.
## LOG_FORMAT=text switches to "<ts> <level> <msg> key=value ..." for local use.

enum Level { DEBUG, INFO, WARN, ERROR }

const LEVEL_NAMES := ["debug", "info", "warn", "error"]

static var min_level: int = Level.INFO
static var json_format: bool = true


static func set_level_name(level_name: String) -> void:
	var index := LEVEL_NAMES.find(level_name.strip_edges().to_lower())
	if index >= 0:
		min_level = index


static func debug(message: String, fields: Dictionary = {}) -> void:
	_emit(Level.DEBUG, message, fields)


static func info(message: String, fields: Dictionary = {}) -> void:
	_emit(Level.INFO, message, fields)


static func warn(message: String, fields: Dictionary = {}) -> void:
	_emit(Level.WARN, message, fields)


static func error(message: String, fields: Dictionary = {}) -> void:
	_emit(Level.ERROR, message, fields)


static func _emit(level: int, message: String, fields: Dictionary) -> void:
	if level < min_level:
		return
	var record := {
		"ts": Time.get_datetime_string_from_system(true) + "Z",
		"level": LEVEL_NAMES[level],
		"msg": message,
	}
	for key in fields:
		if not record.has(key):
			record[key] = fields[key]
	var line := JSON.stringify(record)
	if not json_format:
		var parts := PackedStringArray([record["ts"], LEVEL_NAMES[level].to_upper(), message])
		for key in fields:
			parts.append("%s=%s" % [key, fields[key]])
		line = " ".join(parts)
	if level >= Level.ERROR:
		printerr(line)
	else:
		print(line)
