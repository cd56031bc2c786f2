class_name GdUnitAssert
extends RefCounted
## Fluent assertion on one value: assert_that(x).is_equal(3). Every check returns
## the assertion itself so checks can be chained; a failed check records a message
## on the suite and the test case goes on (soft assertions).

var _suite: GdUnitTestSuite
var _value: Variant
var _description := ""


func _init(suite: GdUnitTestSuite, value: Variant) -> void:
	_suite = suite
	_value = value


## Prefixes failure messages with a description of what is checked.
func override_failure_message(description: String) -> GdUnitAssert:
	_description = description
	return self


func is_equal(expected: Variant) -> GdUnitAssert:
	if not _equal(_value, expected):
		_fail("expected %s but was %s" % [_show(expected), _show(_value)])
	return self


func is_not_equal(unexpected: Variant) -> GdUnitAssert:
	if _equal(_value, unexpected):
		_fail("expected a value other than %s" % _show(unexpected))
	return self


func is_equal_approx(expected: float, tolerance: float = 0.00001) -> GdUnitAssert:
	if not (typeof(_value) in [TYPE_FLOAT, TYPE_INT]) or absf(float(_value) - expected) > tolerance:
		_fail("expected %s (+/- %s) but was %s" % [expected, tolerance, _show(_value)])
	return self


func is_true() -> GdUnitAssert:
	if not (typeof(_value) == TYPE_BOOL and _value):
		_fail("expected true but was %s" % _show(_value))
	return self


func is_false() -> GdUnitAssert:
	if not (typeof(_value) == TYPE_BOOL and not _value):
		_fail("expected false but was %s" % _show(_value))
	return self


func is_null() -> GdUnitAssert:
	if _value != null:
		_fail("expected null but was %s" % _show(_value))
	return self


func is_not_null() -> GdUnitAssert:
	if _value == null:
		_fail("expected a value but was null")
	return self


func is_greater(limit: Variant) -> GdUnitAssert:
	if not (_value > limit):
		_fail("expected a value greater than %s but was %s" % [_show(limit), _show(_value)])
	return self


func is_less(limit: Variant) -> GdUnitAssert:
	if not (_value < limit):
		_fail("expected a value less than %s but was %s" % [_show(limit), _show(_value)])
	return self


func is_empty() -> GdUnitAssert:
	if _size() != 0:
		_fail("expected empty but was %s" % _show(_value))
	return self


func is_not_empty() -> GdUnitAssert:
	if _size() <= 0:
		_fail("expected a non-empty value but was %s" % _show(_value))
	return self


func has_size(expected: int) -> GdUnitAssert:
	if _size() != expected:
		_fail("expected size %d but was %d" % [expected, _size()])
	return self


## Strings: substring; arrays: element; dictionaries: key.
func contains(expected: Variant) -> GdUnitAssert:
	var found := false
	match typeof(_value):
		TYPE_STRING, TYPE_STRING_NAME:
			found = str(_value).contains(str(expected))
		TYPE_ARRAY, TYPE_PACKED_STRING_ARRAY, TYPE_PACKED_INT32_ARRAY, TYPE_PACKED_INT64_ARRAY, TYPE_PACKED_FLOAT32_ARRAY, TYPE_PACKED_FLOAT64_ARRAY, TYPE_PACKED_BYTE_ARRAY:
			found = expected in _value
		TYPE_DICTIONARY:
			found = (_value as Dictionary).has(expected)
	if not found:
		_fail("expected %s to contain %s" % [_show(_value), _show(expected)])
	return self


func starts_with(prefix: String) -> GdUnitAssert:
	if typeof(_value) != TYPE_STRING or not str(_value).begins_with(prefix):
		_fail("expected %s to start with %s" % [_show(_value), _show(prefix)])
	return self


func _size() -> int:
	match typeof(_value):
		TYPE_STRING, TYPE_STRING_NAME:
			return str(_value).length()
		TYPE_ARRAY, TYPE_DICTIONARY, TYPE_PACKED_STRING_ARRAY, TYPE_PACKED_INT32_ARRAY, TYPE_PACKED_INT64_ARRAY, TYPE_PACKED_FLOAT32_ARRAY, TYPE_PACKED_FLOAT64_ARRAY, TYPE_PACKED_BYTE_ARRAY:
			return _value.size()
	return -1


static func _equal(a: Variant, b: Variant) -> bool:
	var numeric := [TYPE_INT, TYPE_FLOAT]
	if typeof(a) in numeric and typeof(b) in numeric:
		return absf(float(a) - float(b)) <= 0.000001 * maxf(1.0, absf(float(a)))
	if typeof(a) != typeof(b):
		return false
	return a == b


static func _show(value: Variant) -> String:
	if typeof(value) == TYPE_STRING:
		return "\"%s\"" % value
	return var_to_str(value)


func _fail(message: String) -> void:
	_suite.report_failure(message if _description.is_empty() else "%s: %s" % [_description, message])
