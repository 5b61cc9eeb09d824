"""The cluster engine goes down mid-run and comes back: nothing 500s, nothing saved is lost.

A second, throw-away OpenSearch node (other ports, its own data) is started for this module and
really stopped and restarted, so the node the other tests use is not disturbed.
"""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from haystack.query import SearchQuerySet

from listings import services as listing_services
from listings.models import ListingStatus, Technology
from marketplace.accounts import services as account_services
from search.backends import SearchUnavailable
from search.models import PendingIndexOp
from tests.factories import TechnologyFactory
from tests.search.cluster import SpareNode, connection, needs_node, use_connection

pytestmark = [*needs_node, pytest.mark.search_index, pytest.mark.django_db]


@pytest.fixture(scope="module")
def spare_node(tmp_path_factory):
    node = SpareNode(tmp_path_factory.mktemp("spare-opensearch"))
    node.start()
    yield node
    node.stop()


@pytest.fixture
def spare_index(settings, spare_node):
    import haystack

    original = haystack.connections.connections_info
    backend = use_connection(settings, connection("outage", url=spare_node.url, TIMEOUT=5))
    backend.setup()
    yield backend
    try:
        if not spare_node.answers():
            spare_node.start()
        backend.transport.delete_index("outage-*")
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")


def pending(university, title):
    return TechnologyFactory(
        organisation=university, title=title, status=ListingStatus.PENDING, published_at=None, field="energy"
    )


def titles(sqs):
    return sorted(r.title for r in sqs)


def test_an_outage_falls_back_keeps_the_updates_and_the_replay_completes_the_index(
    spare_node, spare_index, university, seller, officer, client, django_capture_on_commit_callbacks
):
    first = pending(university, "高原光伏电站智能运维技术")
    second = pending(university, "光伏组件无水清洗机器人")
    third = pending(university, "光伏支架抗风加固方法")

    # given two listings published through the pipeline while the engine is up
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=first, by=officer, approve=True)
        listing_services.listing_review(listing=second, by=officer, approve=True)
    assert titles(SearchQuerySet().auto_query("光伏")) == ["光伏组件无水清洗机器人", "高原光伏电站智能运维技术"]
    assert client.get(reverse("search:search"), {"q": "光伏"}).context["result"].degraded is False

    # when the engine stops
    spare_node.stop()
    with pytest.raises(SearchUnavailable):
        SearchQuerySet().auto_query("光伏").count()

    # then the page says so and answers from the database
    page = client.get(reverse("search:search"), {"q": "光伏"})
    assert page.status_code == 200
    assert page.context["result"].degraded is True
    assert "检索服务暂时不可用" in page.content.decode()
    assert {hit.title for hit in page.context["result"].hits} == {"高原光伏电站智能运维技术", "光伏组件无水清洗机器人"}
    # and so does the API
    api = client.get(reverse("search_api:search"), {"q": "光伏"})
    assert api.status_code == 200
    body = api.json()
    assert body["degraded"] is True
    assert "检索服务暂时不可用" in body["message"]
    assert {hit["title"] for hit in body["results"]} == {"高原光伏电站智能运维技术", "光伏组件无水清洗机器人"}

    # when listings are saved during the outage: one published, one withdrawn, their organisation renamed
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=third, by=officer, approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_withdraw(listing=second, by=seller)
    with django_capture_on_commit_callbacks(execute=True):
        account_services.organisation_update(organisation=university, by=seller, name="西藏新能源研究院")

    # then every save succeeded
    assert Technology.objects.get(pk=third.pk).status == ListingStatus.PUBLISHED
    assert Technology.objects.get(pk=second.pk).status == ListingStatus.WITHDRAWN
    # and every update the engine could not take is kept
    assert set(PendingIndexOp.objects.values_list("identifier", flat=True)) == {
        f"listings.technology.{first.pk}",
        f"listings.technology.{second.pk}",
        f"listings.technology.{third.pk}",
    }
    # and the fallback already shows the database's truth
    fallback = client.get(reverse("search_api:search"), {"q": "光伏"}).json()
    assert {hit["title"] for hit in fallback["results"]} == {"高原光伏电站智能运维技术", "光伏支架抗风加固方法"}

    # when the engine is back (same data: an outage, not a wipe) and the kept updates are replayed
    spare_node.start()
    stale = titles(SearchQuerySet().auto_query("光伏"))
    assert stale == ["光伏组件无水清洗机器人", "高原光伏电站智能运维技术"]
    call_command("search_replay", stdout=io.StringIO())

    # then the index agrees with the database: nothing lost, nothing left over
    assert PendingIndexOp.objects.count() == 0
    assert titles(SearchQuerySet().auto_query("光伏")) == ["光伏支架抗风加固方法", "高原光伏电站智能运维技术"]
    assert titles(SearchQuerySet().auto_query("新能源研究院")) == ["光伏支架抗风加固方法", "高原光伏电站智能运维技术"]
    result = client.get(reverse("search_api:search"), {"q": "光伏"}).json()
    assert result["degraded"] is False
    assert {hit["title"] for hit in result["results"]} == {"高原光伏电站智能运维技术", "光伏支架抗风加固方法"}
