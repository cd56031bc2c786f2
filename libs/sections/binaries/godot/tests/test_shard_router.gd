extends GdUnitTestSuite
## Server meshing: shard assignment, hysteresis and capacity handling.

const ShardRouterScript := preload("res://scripts/meshing/shard_router.gd")

var router: Node


func before_test() -> void:
	router = ShardRouterScript.new()
	# 2x2 grid of 100 m cells: the world spans -100..100 on x and z.
	router.configure(Vector2i(2, 2), 100.0, 2)


func after_test() -> void:
	router.free()


func test_positions_map_to_grid_cells() -> void:
	assert_str(router.shard_for_position(Vector3(-50, 0, -50))).is_equal("shard-0-0")
	assert_str(router.shard_for_position(Vector3(50, 0, -50))).is_equal("shard-1-0")
	assert_str(router.shard_for_position(Vector3(-50, 10, 50))).is_equal("shard-0-1")
	assert_str(router.shard_for_position(Vector3(5000, 0, 5000))).is_equal("shard-1-1")


func test_assign_and_remove_player() -> void:
	assert_str(router.assign_player("p1", Vector3(-10, 0, -10))).is_equal("shard-0-0")
	assert_int(router.player_count("shard-0-0")).is_equal(1)
	router.remove_player("p1")
	assert_int(router.player_count("shard-0-0")).is_equal(0)
	assert_str(router.shard_of_player("p1")).is_equal("")


func test_no_handoff_inside_hysteresis_band() -> void:
	router.assign_player("p1", Vector3(-10, 0, -10))
	# 5 m past the x = 0 boundary is within the 16 m hysteresis band.
	assert_str(router.update_position("p1", Vector3(5, 0, -10))).is_equal("")
	assert_str(router.shard_of_player("p1")).is_equal("shard-0-0")


func test_handoff_past_hysteresis_band() -> void:
	router.assign_player("p1", Vector3(-10, 0, -10))
	assert_str(router.update_position("p1", Vector3(30, 0, -10))).is_equal("success")
	assert_str(router.shard_of_player("p1")).is_equal("shard-1-0")
	assert_int(router.player_count("shard-0-0")).is_equal(0)
	assert_int(router.player_count("shard-1-0")).is_equal(1)


func test_handoff_rejected_when_target_full() -> void:
	router.assign_player("a", Vector3(50, 0, -50))
	router.assign_player("b", Vector3(60, 0, -50))
	router.assign_player("p1", Vector3(-50, 0, -50))
	assert_str(router.update_position("p1", Vector3(50, 0, -50))).is_equal("rejected")
	assert_str(router.shard_of_player("p1")).is_equal("shard-0-0")


func test_rejected_handoff_is_retried_and_times_out() -> void:
	router.handoff_timeout_msec = 0
	router.assign_player("a", Vector3(50, 0, -50))
	router.assign_player("b", Vector3(60, 0, -50))
	router.assign_player("p1", Vector3(-50, 0, -50))
	assert_str(router.update_position("p1", Vector3(50, 0, -50))).is_equal("rejected")
	# Still full: the retry is silent, the handoff stays pending.
	assert_str(router.update_position("p1", Vector3(51, 0, -50))).is_equal("")
	assert_int(router.pending_handoffs()).is_equal(1)
	router.tick()
	# Room appears: the pending handoff completes.
	router.remove_player("a")
	assert_str(router.update_position("p1", Vector3(52, 0, -50))).is_equal("success")
	assert_int(router.pending_handoffs()).is_equal(0)


func test_moving_back_cancels_pending_handoff() -> void:
	router.assign_player("a", Vector3(50, 0, -50))
	router.assign_player("b", Vector3(60, 0, -50))
	router.assign_player("p1", Vector3(-50, 0, -50))
	router.update_position("p1", Vector3(50, 0, -50))
	assert_str(router.update_position("p1", Vector3(-40, 0, -50))).is_equal("")
	assert_int(router.pending_handoffs()).is_equal(0)


func test_full_shard_spills_to_nearest_shard_with_room() -> void:
	router.assign_player("a", Vector3(-50, 0, -50))
	router.assign_player("b", Vector3(-50, 0, -50))
	var shard: String = router.assign_player("c", Vector3(-50, 0, -50))
	assert_str(shard).is_not_equal("shard-0-0")
	assert_str(shard).starts_with("shard-")


func test_draining_router_accepts_nobody() -> void:
	router.set_draining(true)
	assert_str(router.assign_player("p1", Vector3.ZERO)).is_equal("")
	var shards: Array = router.describe_shards()
	assert_array(shards).has_size(4)
	assert_str(shards[0]["state"]).is_equal("draining")
