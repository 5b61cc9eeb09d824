"""Reindexing the cluster: a new timestamped index, loaded in chunks, then an atomic alias swap.

The site searches the alias throughout; these tests search it *during* the build (from the progress
callback, which runs between chunks) and prove it never answers from an empty or half-built index.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from haystack.query import SearchQuerySet

from listings.models import Need, Technology
from search.backends import SearchError
from search.search_indexes import TechnologyIndex
from tests.factories import NeedFactory, TechnologyFactory
from tests.search.cluster import needs_node

pytestmark = [*needs_node, pytest.mark.search_index, pytest.mark.django_db]

TOTAL = 9


@pytest.fixture
def indexed(cluster_index):
    """Eight technologies and a need, in the index the alias points at."""
    techs = [TechnologyFactory(title=f"高原光伏组件清洗技术{n}", field="energy") for n in range(8)]
    NeedFactory(title="光伏电站运维需求")
    for index in cluster_index._unified().collect_indexes():
        cluster_index.update(index, index.index_queryset())
    return techs


def behind_alias(backend):
    return sorted(backend.transport.get_alias(backend.alias))


def identifiers():
    return [f"listings.technology.{pk}" for pk in Technology.objects.values_list("pk", flat=True)] + [
        f"listings.need.{pk}" for pk in Need.objects.values_list("pk", flat=True)
    ]


def test_searches_during_a_reindex_keep_answering_from_the_complete_old_index(indexed, cluster_index):
    # given a complete index behind the alias
    (old,) = behind_alias(cluster_index)
    seen = []

    def progress(done, total):
        # when searches run while the new index is being built
        transport = cluster_index.transport
        written = sum(1 for i in identifiers() if transport.get_document(cluster_index.next_alias, i))
        answered = SearchQuerySet().auto_query("光伏").count()
        seen.append({"done": done, "total": total, "written": written, "answered": answered})
        assert behind_alias(cluster_index) == [old]

    result = cluster_index.reindex(batch_size=2, progress=progress)

    # then the new index filled chunk by chunk, while every search found everything from the old one
    assert all(s["written"] == s["done"] for s in seen)
    assert [s["done"] for s in seen] == sorted({s["done"] for s in seen})
    assert seen[0]["done"] == 0 and seen[-1]["done"] == TOTAL
    assert len([s for s in seen if 0 < s["written"] < TOTAL]) >= 4  # chunks of two
    assert {s["total"] for s in seen} == {TOTAL}
    assert {s["answered"] for s in seen} == {TOTAL}
    # and afterwards the alias names the new index only, the old one is gone, nothing is lost
    assert behind_alias(cluster_index) == [result["index"]]
    assert result["previous"] == [old]
    assert result["documents"] == TOTAL
    assert result["index"].startswith(f"{cluster_index.alias}-") and result["index"] > old
    assert cluster_index.transport.indices(f"{cluster_index.alias}-*") == {result["index"]: [cluster_index.alias]}
    assert SearchQuerySet().auto_query("光伏").count() == TOTAL


def test_changes_made_during_a_reindex_reach_the_new_index(indexed, cluster_index):
    first, second = indexed[0], indexed[1]
    changed = []

    def progress(done, total):
        # once both are in the new index, only a live write can change them there
        written = cluster_index.transport.get_document(cluster_index.next_alias, f"listings.technology.{second.pk}")
        if written and not changed:
            cluster_index.remove(first)
            Technology.objects.filter(pk=first.pk).update(status="withdrawn")
            Technology.objects.filter(pk=second.pk).update(title="牦牛乳冻干粉生产工艺")
            cluster_index.update(TechnologyIndex(), [Technology.objects.get(pk=second.pk)])
            changed.append(done)

    cluster_index.reindex(batch_size=2, progress=progress)

    assert len(changed) == 1
    assert SearchQuerySet().count() == TOTAL - 1
    assert [r.pk for r in SearchQuerySet().auto_query("牦牛乳")] == [str(second.pk)]
    assert str(first.pk) not in [r.pk for r in SearchQuerySet().models(Technology)]


def test_a_failed_reindex_leaves_the_site_on_the_old_index(indexed, cluster_index):
    before = behind_alias(cluster_index)

    def progress(done, total):
        if done >= 4:
            raise SearchError("disk full")

    with pytest.raises(SearchError, match="disk full"):
        cluster_index.reindex(batch_size=2, progress=progress)

    assert behind_alias(cluster_index) == before
    assert list(cluster_index.transport.indices(f"{cluster_index.alias}-*")) == before  # the new one was dropped
    assert not cluster_index.transport.get_alias(cluster_index.next_alias)
    assert SearchQuerySet().auto_query("光伏").count() == TOTAL
    # and live writes still work (no dangling "-next" alias to write to)
    TechnologyFactory(title="光伏支架抗风设计")
    cluster_index.update(TechnologyIndex(), TechnologyIndex().index_queryset())
    assert SearchQuerySet().auto_query("光伏").count() == TOTAL + 1


def test_a_first_reindex_creates_the_alias(cluster_index, db):
    TechnologyFactory(title="青稞β-葡聚糖提取工艺")
    cluster_index.transport.delete_index(f"{cluster_index.alias}-*")  # nothing at all on the node
    result = cluster_index.reindex()
    assert result["previous"] == []
    assert behind_alias(cluster_index) == [result["index"]]
    assert SearchQuerySet().auto_query("青稞").count() == 1


def test_the_command_reports_progress_and_the_swap(indexed, cluster_index):
    (old,) = behind_alias(cluster_index)
    out, err = io.StringIO(), io.StringIO()
    call_command("search_reindex", "--batch-size", "4", stdout=out, stderr=err)
    (new,) = behind_alias(cluster_index)
    assert new != old
    assert f"{TOTAL}/{TOTAL}" in err.getvalue()  # the progress bar's last state
    assert f"重建完成:{TOTAL} 条文档写入 {new}" in out.getvalue()
    assert f"原索引:{old},已删除" in out.getvalue()


def test_the_command_can_keep_the_old_index(indexed, cluster_index):
    (old,) = behind_alias(cluster_index)
    call_command("search_reindex", "--keep-old", "--verbosity", "0", stdout=io.StringIO())
    (new,) = behind_alias(cluster_index)
    assert set(cluster_index.transport.indices(f"{cluster_index.alias}-*")) == {old, new}


def test_the_command_refuses_bad_input_clearly(cluster_index):
    with pytest.raises(CommandError, match="没有名为「nowhere」的检索连接"):
        call_command("search_reindex", "--using", "nowhere")
    with pytest.raises(CommandError, match="--batch-size 必须是正整数"):
        call_command("search_reindex", "--batch-size", "0")


def test_rebuild_index_swaps_the_alias_too(indexed, cluster_index):
    (old,) = behind_alias(cluster_index)
    out = io.StringIO()
    call_command("rebuild_index", "--noinput", "--batch-size", "3", stdout=out, stderr=io.StringIO())
    (new,) = behind_alias(cluster_index)
    assert new != old
    assert list(cluster_index.transport.indices(f"{cluster_index.alias}-*")) == [new]
    assert SearchQuerySet().auto_query("光伏").count() == TOTAL
    assert "重建完成" in out.getvalue()
