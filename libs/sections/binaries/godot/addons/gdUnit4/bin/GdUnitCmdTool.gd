extends SceneTree
## Headless test runner:
##   godot --headless --path <project> -s res://addons/gdUnit4/bin/GdUnitCmdTool.gd [-a res://tests]
## Runs every test_*.gd suite below the given folder (default res://tests) and exits
## with 0 when all test cases pass, 1 when any fails, 2 when no suite was found.

const DEFAULT_ROOT := "res://tests"


func _initialize() -> void:
	var root := DEFAULT_ROOT
	var args := OS.get_cmdline_args()
	var index := args.find("-a")
	if index >= 0 and index + 1 < args.size():
		root = args[index + 1]
	var suites := _find_suites(root)
	if suites.is_empty():
		printerr("gdUnit4: no test suites found under %s" % root)
		quit(2)
		return
	var passed := 0
	var failed := 0
	for path: String in suites:
		var result := _run_suite(path)
		passed += int(result["passed"])
		failed += int(result["failed"])
	print("gdUnit4: %d passed, %d failed" % [passed, failed])
	quit(0 if failed == 0 else 1)


func _find_suites(folder: String) -> PackedStringArray:
	var found := PackedStringArray()
	for file: String in DirAccess.get_files_at(folder):
		if file.begins_with("test_") and file.ends_with(".gd"):
			found.append(folder.path_join(file))
	for sub: String in DirAccess.get_directories_at(folder):
		found.append_array(_find_suites(folder.path_join(sub)))
	found.sort()
	return found


func _run_suite(path: String) -> Dictionary:
	var script: GDScript = load(path)
	var result := {"passed": 0, "failed": 0}
	if script == null or not script.can_instantiate():
		printerr("FAIL %s: cannot load suite" % path)
		result["failed"] = 1
		return result
	var suite: GdUnitTestSuite = script.new()
	var cases := PackedStringArray()
	for method: Dictionary in script.get_script_method_list():
		var method_name: String = method["name"]
		if method_name.begins_with("test_") and not cases.has(method_name):
			cases.append(method_name)
	suite.before()
	for case_name: String in cases:
		suite.failures = PackedStringArray()
		suite.current_test = case_name
		suite.before_test()
		suite.call(case_name)
		suite.after_test()
		if suite.failures.is_empty():
			result["passed"] = int(result["passed"]) + 1
			print("PASS %s::%s" % [path.get_file(), case_name])
		else:
			result["failed"] = int(result["failed"]) + 1
			for failure: String in suite.failures:
				printerr("FAIL %s::%s" % [path.get_file(), failure])
	suite.after()
	return result
