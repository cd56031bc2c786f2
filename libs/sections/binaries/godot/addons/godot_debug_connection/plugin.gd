@tool
extends EditorPlugin
## Adds "SpaceTime: Check Server Connection" to Project > Tools.
## The server URL is the project setting spacetime/debug/server_url; point it at a
## local server, or at a pod through `kubectl port-forward -n spacetime-vr pod/<pod> 8080:8080`.

const MENU_ITEM := "SpaceTime: Check Server Connection"
const DebugConnection := preload("res://addons/godot_debug_connection/debug_connection.gd")

var _connection: Node


func _enter_tree() -> void:
	if not ProjectSettings.has_setting(DebugConnection.SETTING_SERVER_URL):
		ProjectSettings.set_setting(DebugConnection.SETTING_SERVER_URL, DebugConnection.DEFAULT_SERVER_URL)
	ProjectSettings.set_initial_value(DebugConnection.SETTING_SERVER_URL, DebugConnection.DEFAULT_SERVER_URL)
	ProjectSettings.add_property_info({
		"name": DebugConnection.SETTING_SERVER_URL,
		"type": TYPE_STRING,
		"hint": PROPERTY_HINT_PLACEHOLDER_TEXT,
		"hint_string": DebugConnection.DEFAULT_SERVER_URL,
	})
	_connection = DebugConnection.new()
	add_child(_connection)
	_connection.report_ready.connect(_on_report_ready)
	add_tool_menu_item(MENU_ITEM, _check)


func _exit_tree() -> void:
	remove_tool_menu_item(MENU_ITEM)
	if is_instance_valid(_connection):
		_connection.queue_free()
	_connection = null


func _check() -> void:
	var url := str(ProjectSettings.get_setting(DebugConnection.SETTING_SERVER_URL, DebugConnection.DEFAULT_SERVER_URL))
	print("SpaceTime debug connection: checking %s" % url)
	_connection.check(url)


func _on_report_ready(report: Dictionary) -> void:
	for line: String in DebugConnection.format_report(report):
		print(line)
