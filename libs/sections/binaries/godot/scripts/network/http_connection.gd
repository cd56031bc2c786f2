class_name HttpConnection
extends RefCounted
## One client connection of the HTTP API: reads and parses a single HTTP/1.1
## request, then writes one response and closes (Connection: close).

enum State { READING, HANDLING, WRITING, DONE }

const MAX_HEADER_BYTES := 16384
const MAX_BODY_BYTES := 65536
const TIMEOUT_MSEC := 10000

const REASONS := {
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
	413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
	431: "Request Header Fields Too Large", 500: "Internal Server Error",
	503: "Service Unavailable",
}

var peer: StreamPeerTCP
var state: int = State.READING
var opened_msec: int = 0
var remote_address: String = ""
## Parsed request: method, path, query (Dictionary), headers (lower-case keys), body (PackedByteArray).
var request: Dictionary = {}
## Set when the request could not be parsed: the status code to answer with.
var parse_error_status: int = 0

var _in := PackedByteArray()
var _out := PackedByteArray()
var _header_end := -1
var _content_length := 0


func _init(tcp_peer: StreamPeerTCP) -> void:
	peer = tcp_peer
	opened_msec = Time.get_ticks_msec()
	remote_address = peer.get_connected_host()


func is_timed_out() -> bool:
	return Time.get_ticks_msec() - opened_msec > TIMEOUT_MSEC


## Reads what is available. Returns true once a full request (or a parse error) is ready.
func poll_read() -> bool:
	peer.poll()
	if peer.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		state = State.DONE
		return false
	var available := peer.get_available_bytes()
	if available > 0:
		var chunk: Array = peer.get_partial_data(available)
		if chunk[0] != OK:
			state = State.DONE
			return false
		_in.append_array(chunk[1])
	if _header_end < 0:
		_header_end = _find_header_end()
		if _header_end < 0:
			if _in.size() > MAX_HEADER_BYTES:
				parse_error_status = 431
				return true
			return false
		if not _parse_head(_in.slice(0, _header_end).get_string_from_utf8()):
			return true
	if _content_length > MAX_BODY_BYTES:
		parse_error_status = 413
		return true
	var body_start := _header_end + 4
	if _in.size() - body_start < _content_length:
		return false
	request["body"] = _in.slice(body_start, body_start + _content_length)
	return true


## Queues a response; `body` is sent as-is.
func respond(status: int, body: PackedByteArray, content_type: String, extra_headers: Dictionary = {}) -> void:
	var head := PackedStringArray()
	head.append("HTTP/1.1 %d %s" % [status, REASONS.get(status, "Status")])
	head.append("Content-Type: " + content_type)
	head.append("Content-Length: %d" % body.size())
	head.append("Connection: close")
	head.append("Cache-Control: no-store")
	head.append("X-Content-Type-Options: nosniff")
	for key in extra_headers:
		head.append("%s: %s" % [key, extra_headers[key]])
	_out = ("\r\n".join(head) + "\r\n\r\n").to_utf8_buffer()
	_out.append_array(body)
	state = State.WRITING


## Writes queued bytes without blocking. Returns true when everything was sent.
func poll_write() -> bool:
	peer.poll()
	if peer.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		state = State.DONE
		return true
	if _out.is_empty():
		state = State.DONE
		return true
	var result: Array = peer.put_partial_data(_out)
	if result[0] != OK:
		state = State.DONE
		return true
	_out = _out.slice(int(result[1]))
	if _out.is_empty():
		state = State.DONE
		return true
	return false


func close() -> void:
	peer.disconnect_from_host()
	state = State.DONE


func header(header_name: String, fallback: String = "") -> String:
	return (request.get("headers", {}) as Dictionary).get(header_name.to_lower(), fallback)


func _find_header_end() -> int:
	var limit := mini(_in.size(), MAX_HEADER_BYTES + 4)
	for i in range(maxi(0, limit - 3)):
		if _in[i] == 13 and _in[i + 1] == 10 and _in[i + 2] == 13 and _in[i + 3] == 10:
			return i
	return -1


func _parse_head(head: String) -> bool:
	var lines := head.split("\r\n")
	var request_line := lines[0].split(" ")
	if request_line.size() != 3 or not request_line[2].begins_with("HTTP/1."):
		parse_error_status = 400
		return false
	var target := request_line[1]
	var path := target
	var query := {}
	var question := target.find("?")
	if question >= 0:
		path = target.substr(0, question)
		for pair: String in target.substr(question + 1).split("&", false):
			var eq := pair.find("=")
			if eq < 0:
				query[pair.uri_decode()] = ""
			else:
				query[pair.substr(0, eq).uri_decode()] = pair.substr(eq + 1).uri_decode()
	var headers := {}
	for i in range(1, lines.size()):
		var colon := lines[i].find(":")
		if colon <= 0:
			parse_error_status = 400
			return false
		headers[lines[i].substr(0, colon).strip_edges().to_lower()] = lines[i].substr(colon + 1).strip_edges()
	if headers.has("transfer-encoding"):
		# Chunked uploads are not needed by any API client; refuse rather than mis-parse.
		parse_error_status = 400
		return false
	var length_text: String = headers.get("content-length", "0")
	if not length_text.is_valid_int() or length_text.to_int() < 0:
		parse_error_status = 400
		return false
	_content_length = length_text.to_int()
	request = {
		"method": request_line[0].to_upper(),
		"path": path,
		"query": query,
		"headers": headers,
		"body": PackedByteArray(),
	}
	return true
