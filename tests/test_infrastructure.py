"""Each profile runs on the servers it claims: SQLite + in-process layers, or PostgreSQL + Redis."""

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import caches
from django.db import connection

CLUSTER = settings.PROFILE == "cluster"


@pytest.mark.django_db
def test_the_database_is_the_profiles_own():
    assert connection.vendor == ("postgresql" if CLUSTER else "sqlite")
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone() == (1,)


def test_the_cache_round_trips_through_the_profiles_backend():
    expected = "RedisCache" if CLUSTER else "LocMemCache"
    cache = caches["default"]
    assert type(cache).__name__ == expected
    key = f"probe-{uuid.uuid4().hex}"
    cache.set(key, {"青稞": 1}, timeout=30)
    assert cache.get(key) == {"青稞": 1}
    cache.delete(key)
    assert cache.get(key) is None


def test_a_message_crosses_the_channel_layer():
    layer = get_channel_layer()
    assert type(layer).__name__ == ("RedisChannelLayer" if CLUSTER else "InMemoryChannelLayer")

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "text": "扎西德勒"})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "probe", "text": "扎西德勒"}


@pytest.mark.skipif(not CLUSTER, reason="cluster profile only")
def test_the_cluster_profile_talks_to_redis_on_loopback():
    client = caches["default"]._cache.get_client()
    assert client.ping() is True
    assert settings.REDIS_URL.startswith("redis://127.0.0.1:")
