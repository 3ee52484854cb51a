"""Several Redis calls in one round trip, against the real Redis of the tests."""

from django.core.cache import cache

from api.redis_batch import Call, Script, redis_batch, redis_client

ADD = Script("return tonumber(ARGV[1]) + tonumber(ARGV[2])")
SWAP = Script("local a = redis.call('GET', KEYS[1]) return {redis.call('GET', KEYS[2]), a}")


def test_each_call_gets_its_own_keys_arguments_and_reply_in_order():
    cache.set("batch:a", 1)
    cache.set("batch:b", 2)
    a, b = cache.make_key("batch:a"), cache.make_key("batch:b")

    replies = redis_batch([
        Call(keys=(), args=(2, 3), script=ADD),
        Call.get(b),
        Call(keys=(a, b), script=SWAP),
        Call.get(cache.make_key("batch:missing")),
        Call(keys=(), args=(40, 2), script=ADD),
    ])  # fmt: skip

    assert replies == [5, b"2", [b"2", b"1"], None, 42]


def test_scripts_forgotten_by_redis_are_loaded_again():
    assert redis_batch([Call(keys=(), args=(1, 1), script=ADD)]) == [2]
    redis_client().script_flush()

    assert redis_batch([Call(keys=(), args=(1, 1), script=ADD)]) == [2]


def test_one_command_for_the_whole_batch(redis_round_trips):
    calls = [Call(keys=(), args=(1, 2), script=ADD), Call.get(cache.make_key("batch:never-set"))]
    redis_batch(calls)  # Redis knows the script from now on
    redis_round_trips.clear()

    assert redis_batch(calls) == [3, None]
    assert len(redis_round_trips) == 1
