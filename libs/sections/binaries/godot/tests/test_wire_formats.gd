extends GdUnitTestSuite
## Byte-level helpers of the PostgreSQL and Redis clients.


func test_pg_int32_round_trip() -> void:
	for value: int in [0, 1, 196608, 80877103, -1, -2147483648, 2147483647]:
		assert_int(PgConnection._read_i32(PgConnection._i32(value), 0)).is_equal(value)


func test_pg_int16_round_trip() -> void:
	for value: int in [0, 1, 255, 256, -1, 32767, -32768]:
		assert_int(PgConnection._read_i16(PgConnection._i16(value), 0)).is_equal(value)


func test_pg_message_framing() -> void:
	var message := PgConnection._message("Q", PgConnection._cstr("SELECT 1"))
	assert_int(message[0]).is_equal(81)
	assert_int(PgConnection._read_i32(message, 1)).is_equal(4 + 9)
	assert_int(message.size()).is_equal(1 + 4 + 9)
	assert_int(message[message.size() - 1]).is_equal(0)


func test_redis_url_parsing() -> void:
	var client := RedisClient.from_url("redis://:s3cr%40t@redis.spacetime-vr.svc:6380/2")
	assert_str(client.host).is_equal("redis.spacetime-vr.svc")
	assert_int(client.port).is_equal(6380)
	assert_int(client.db_index).is_equal(2)
	assert_str(client.password).is_equal("s3cr@t")
	assert_bool(client.use_tls).is_false()


func test_rediss_url_enables_tls() -> void:
	var client := RedisClient.from_url("rediss://default:pw@cache.example.com:6379/0")
	assert_bool(client.use_tls).is_true()
	assert_str(client.username).is_equal("default")
	assert_that(RedisClient.from_url("http://nope")).is_null()
