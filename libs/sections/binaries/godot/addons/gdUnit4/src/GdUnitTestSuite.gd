class_name GdUnitTestSuite
extends RefCounted
## Base class for test suites. A suite is a script under res://tests whose file name
## starts with "test_"; every method whose name starts with "test_" is one test case.
## Optional hooks: before() and after() run once per suite, before_test() and
## after_test() around every test case.

## Failures of the test case currently running, filled by the assertions.
var failures: PackedStringArray = PackedStringArray()
var current_test: String = ""


func before() -> void:
	pass


func after() -> void:
	pass


func before_test() -> void:
	pass


func after_test() -> void:
	pass


func assert_that(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, value)


func assert_str(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, str(value))


func assert_int(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, int(value))


func assert_bool(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, bool(value))


func assert_array(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, value)


func assert_dict(value: Variant) -> GdUnitAssert:
	return GdUnitAssert.new(self, value)


func fail(message: String) -> void:
	report_failure(message)


func report_failure(message: String) -> void:
	failures.append("%s: %s" % [current_test, message])
