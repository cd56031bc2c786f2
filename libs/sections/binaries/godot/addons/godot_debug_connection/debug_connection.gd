@tool
extends Node
## Queries a SpaceTime VR server's probe and status endpoints one after another and
## emits report_ready with {"base_url", "results": [{"path", "status", "body", "ok"}]}.
## Works in the editor (through plugin.gd) and at runtime, e.g. from a debug scene.

signal report_ready(report: Dictionary)

const SETTING_SERVER_URL := "spacetime/debug/server_url"
const DEFAULT_SERVER_URL := "http://127.0.0.1:8080"
const PATHS := ["/healthz", "/readyz", "/api/v1/status"]
const TIMEOUT_SECONDS := 5.0

var _http: HTTPRequest
var _busy := false


func _ready() -> void:
	_http = HTTPRequest.new()
	_http.timeout = TIMEOUT_SECONDS
	add_child(_http)


func check(base_url: String) -> void:
	if _busy:
		push_warning("SpaceTime debug connection: a check is already running")
		return
	_busy = true
	var base := base_url.strip_edges().trim_suffix("/")
	var results: Array = []
	for path: String in PATHS:
		var err := _http.request(base + path, PackedStringArray(["Accept: application/json"]))
		if err != OK:
			results.append({"path": path, "status": 0, "body": "request failed: %s" % error_string(err), "ok": false})
			continue
		var response: Array = await _http.request_completed
		var result: int = response[0]
		var status: int = response[1]
		var body: String = (response[3] as PackedByteArray).get_string_from_utf8()
		if result != HTTPRequest.RESULT_SUCCESS:
			results.append({"path": path, "status": 0, "body": "connection failed (HTTPRequest result %d)" % result, "ok": false})
		else:
			results.append({"path": path, "status": status, "body": body, "ok": status >= 200 and status < 300})
	_busy = false
	report_ready.emit({"base_url": base, "results": results})


static func format_report(report: Dictionary) -> PackedStringArray:
	var lines := PackedStringArray()
	for entry: Dictionary in report.get("results", []):
		var mark := "OK  " if entry["ok"] else "FAIL"
		lines.append("%s %s%s -> %d %s" % [mark, report.get("base_url", ""), entry["path"], entry["status"], str(entry["body"]).left(300)])
	return lines
