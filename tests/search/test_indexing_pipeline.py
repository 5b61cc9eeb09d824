"""The index pipeline: model changes → on commit → task → engine; failures kept and replayed.

Tasks run in-process (ImmediateBackend); commits are real commits of the test transaction's
on_commit callbacks (django_capture_on_commit_callbacks). The engine failure is real too: another
writer holds the index's lock, as a rebuild in another process would.
"""

import pytest
import tantivy
from django.core.management import call_command
from django.db import transaction
from haystack.query import SearchQuerySet

from listings import services as listing_services
from listings.models import ListingStatus, Technology
from marketplace.accounts import services as account_services
from search.models import PendingIndexOp
from tests.factories import TechnologyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.search_index]


def index_syncs(callbacks):
    """Our queued syncs among the commit callbacks (other apps queue their own)."""
    return [c.search_key for c in callbacks if hasattr(c, "search_key")]


def titles(sqs):
    return sorted(r.title for r in sqs)


@pytest.fixture
def pending_technology(seller, university):
    """A technology waiting for review: not public yet."""
    return TechnologyFactory(
        organisation=university,
        created_by=seller,
        title="牦牛乳冻干粉生产工艺",
        summary="低温冻干保留牦牛乳活性蛋白。",
        status=ListingStatus.PENDING,
        published_at=None,
    )


@pytest.fixture
def published_technology(pending_technology, officer, embedded_index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
    return pending_technology


def test_publish_is_searchable_after_commit(
    pending_technology, officer, embedded_index, django_capture_on_commit_callbacks
):
    # given a technology under review, not in the index
    assert SearchQuerySet().auto_query("牦牛乳").count() == 0
    # when the bureau approves it
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
        # then nothing is indexed before the commit
        assert SearchQuerySet().auto_query("牦牛乳").count() == 0
    # and it is searchable once committed, with one queued sync
    assert len(index_syncs(callbacks)) == 1
    assert titles(SearchQuerySet().auto_query("牦牛乳")) == ["牦牛乳冻干粉生产工艺"]


def test_a_rolled_back_change_indexes_nothing(
    pending_technology, officer, embedded_index, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):  # noqa: SIM117
        with transaction.atomic():
            listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
            raise RuntimeError("the request failed later")
    assert index_syncs(callbacks) == []
    assert SearchQuerySet().auto_query("牦牛乳").count() == 0


def test_withdraw_removes_it(published_technology, seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_withdraw(listing=published_technology, by=seller)
    assert SearchQuerySet().auto_query("牦牛乳").count() == 0


def test_edit_is_reindexed_once_approved_again(
    published_technology, seller, officer, django_capture_on_commit_callbacks
):
    # when the owner edits a published technology (tags too: one sync per commit, not one per change)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        listing_services.technology_update(
            technology=published_technology, by=seller, title="牦牛乳酸奶发酵剂", tags=["health"]
        )
    assert len(index_syncs(callbacks)) == 1
    # then it left the index while under review again
    assert SearchQuerySet().auto_query("冻干").count() == 0
    # and comes back with the new words once approved
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=published_technology, by=officer, approve=True)
    assert SearchQuerySet().auto_query("冻干粉").count() == 0
    (result,) = SearchQuerySet().auto_query("发酵剂")
    assert result.title == "牦牛乳酸奶发酵剂"
    assert result.tags == ["health"]


def test_deleting_a_listing_removes_it(published_technology, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Technology.objects.get(pk=published_technology.pk).delete()
    assert SearchQuerySet().auto_query("牦牛乳").count() == 0


def test_organisation_rename_reindexes_its_listings(
    published_technology, university, seller, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account_services.organisation_update(organisation=university, by=seller, name="西藏高原乳业研究院")
    (result,) = SearchQuerySet().auto_query("高原乳业研究院")
    assert result.organisation == "西藏高原乳业研究院"


def test_organisation_move_updates_region_facet(
    published_technology, university, seller, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account_services.organisation_update(organisation=university, by=seller, region="jiangsu")
    (result,) = SearchQuerySet().auto_query("牦牛乳")
    assert (result.region, result.aid) == ("jiangsu", True)


def test_saving_an_organisation_without_renaming_queues_nothing(university, django_capture_on_commit_callbacks):
    university = type(university).objects.get(pk=university.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        university.description = "新的简介"
        university.save()
    assert index_syncs(callbacks) == []


def test_engine_failure_keeps_the_update_and_replay_applies_it(
    pending_technology, officer, embedded_index, django_capture_on_commit_callbacks
):
    other = tantivy.Index.open(embedded_index.path)
    lock_holder = other.writer(heap_size=15_000_000, num_threads=1)
    embedded_index.lock_timeout = 0.2
    # when the listing is published while the engine cannot take writes
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
    # then the save succeeded, the update is kept, nothing reached the index
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PUBLISHED
    (op,) = PendingIndexOp.objects.all()
    assert op.identifier == f"listings.technology.{pending_technology.pk}"
    assert "locked" in op.last_error
    assert SearchQuerySet().auto_query("牦牛乳").count() == 0
    # a replay while the engine is still busy keeps it, counting the attempt
    call_command("search_replay", verbosity=0)
    op.refresh_from_db()
    assert op.attempts == 2
    # when the engine is back, the replay applies it and forgets it
    del lock_holder
    call_command("search_replay", verbosity=0)
    assert PendingIndexOp.objects.count() == 0
    assert titles(SearchQuerySet().auto_query("牦牛乳")) == ["牦牛乳冻干粉生产工艺"]


def test_the_next_successful_update_replays_what_was_kept(
    pending_technology, seller, university, officer, embedded_index, django_capture_on_commit_callbacks
):
    # given an update kept while the engine was down
    lock_holder = tantivy.Index.open(embedded_index.path).writer(heap_size=15_000_000, num_threads=1)
    embedded_index.lock_timeout = 0.2
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
    assert PendingIndexOp.objects.count() == 1
    del lock_holder
    # when another listing is indexed successfully (the engine is back)
    other = TechnologyFactory(organisation=university, title="青稞秸秆饲料化技术", status=ListingStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        listing_services.listing_review(listing=other, by=officer, approve=True)
    # then the kept update is replayed too
    assert PendingIndexOp.objects.count() == 0
    assert titles(SearchQuerySet().auto_query("牦牛乳")) == ["牦牛乳冻干粉生产工艺"]


def test_an_unusable_index_path_is_a_kept_update_not_a_failed_save(
    pending_technology, officer, settings, tmp_path, django_capture_on_commit_callbacks
):
    import haystack

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    original = haystack.connections.connections_info
    settings.HAYSTACK_CONNECTIONS = {
        **settings.HAYSTACK_CONNECTIONS,
        "default": {"ENGINE": "search.backends.embedded.EmbeddedEngine", "PATH": str(blocker / "index")},
    }
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    haystack.connections.reload("default")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            listing_services.listing_review(listing=pending_technology, by=officer, approve=True)
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")
    pending_technology.refresh_from_db()
    assert pending_technology.status == ListingStatus.PUBLISHED
    assert PendingIndexOp.objects.get().identifier.endswith(f".{pending_technology.pk}")
