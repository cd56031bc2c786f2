@tool
extends EditorPlugin
## Adds "gdUnit4: Run Tests" to Project > Tools. The tests run in a separate headless
## Godot process (the same command CI uses), and the report appears in the Output panel:
##   godot --headless --path <project> -s res://addons/gdUnit4/bin/GdUnitCmdTool.gd -a res://tests

const MENU_ITEM := "gdUnit4: Run Tests"
const RUNNER := "res://addons/gdUnit4/bin/GdUnitCmdTool.gd"
const TEST_ROOT := "res://tests"


func _enter_tree() -> void:
	add_tool_menu_item(MENU_ITEM, _run_tests)


func _exit_tree() -> void:
	remove_tool_menu_item(MENU_ITEM)


func _run_tests() -> void:
	var output: Array = []
	var args := PackedStringArray(["--headless", "--path", ProjectSettings.globalize_path("res://"), "-s", RUNNER, "-a", TEST_ROOT])
	var exit_code := OS.execute(OS.get_executable_path(), args, output, true)
	for chunk in output:
		print(chunk)
	if exit_code == 0:
		print("gdUnit4: all tests passed")
	else:
		push_error("gdUnit4: tests failed (exit code %d)" % exit_code)
