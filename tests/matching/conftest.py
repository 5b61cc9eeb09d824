"""Fixtures of the matching tests: a search index of their own (embedded engine in a temp folder, or an index
of its own on the real OpenSearch node in the cluster profile), and listings written the way users write them.
"""

import os
import uuid
from decimal import Decimal

import haystack
import pytest

from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, member_of

SEARCH_URL = os.environ.get("SEARCH_URL", "").rstrip("/")
EMBEDDED_ENGINE = "search.backends.embedded.EmbeddedEngine"
CLUSTER_ENGINE = "search.backends.opensearch.OpenSearchEngine"


class Index:
    def __init__(self, backend):
        self.backend = backend

    def refresh(self) -> None:
        """Index every public listing of the test database (what a rebuild would do)."""
        self.backend.clear()
        unified = haystack.connections["default"].get_unified_index()
        for index in unified.get_indexes().values():
            objects = list(index.index_queryset())
            if objects:
                self.backend.update(index, objects)


def _use(settings, conn: dict):
    settings.HAYSTACK_CONNECTIONS = {**settings.HAYSTACK_CONNECTIONS, "default": conn}
    haystack.connections.connections_info = settings.HAYSTACK_CONNECTIONS
    return haystack.connections.reload("default").get_backend()


@pytest.fixture
def matching_index(settings, tmp_path):
    """The default haystack connection on a fresh index of the profile's kind, dropped afterwards."""
    original = haystack.connections.connections_info
    if SEARCH_URL:
        prefix = f"test-match-{uuid.uuid4().hex[:10]}"
        backend = _use(settings, {"ENGINE": CLUSTER_ENGINE, "URL": SEARCH_URL, "INDEX_PREFIX": prefix})
    else:
        backend = _use(settings, {"ENGINE": EMBEDDED_ENGINE, "PATH": str(tmp_path / "index")})
    backend.setup()
    yield Index(backend)
    try:
        if SEARCH_URL:
            backend.transport.delete_index(f"{prefix}-*")
        else:
            backend.destroy()
    finally:
        haystack.connections.connections_info = original
        haystack.connections.reload("default")


@pytest.fixture
def engine_down(settings):
    """The default connection on a search cluster that is not there: every query really fails."""
    original = haystack.connections.connections_info
    _use(settings, {"ENGINE": CLUSTER_ENGINE, "URL": "http://127.0.0.1:9", "INDEX_PREFIX": "down", "TIMEOUT": 2})
    yield
    haystack.connections.connections_info = original
    haystack.connections.reload("default")


# ------------------------------------------------------------------ a small market


@pytest.fixture
def beijing_institute(db):
    return OrganisationFactory(name="北京食品科学研究院测试", kind="institute", region="beijing")


@pytest.fixture
def seller_b(beijing_institute):
    return member_of(beijing_institute, username="seller_b")


@pytest.fixture
def market(university, beijing_institute, enterprise, seller, seller_b, buyer):
    """A yak-meat need (budget ¥50 万, minimum 小试, licence or transfer) and technologies around it."""
    need = NeedFactory(
        organisation=enterprise,
        title="牦牛肉运到内地老是变质",
        description="我们厂的冷鲜牦牛肉要发往成都,路上冷藏车温度控制不好,经常变质,想要保鲜和全程温度监控的办法。",
        field="agriculture",
        budget_cny=Decimal("500000"),
        min_maturity="small_pilot",
        desired_modes=["license", "transfer"],
        tags=["agri_pastoral"],
    )
    fits = TechnologyFactory(
        organisation=beijing_institute,
        title="牦牛肉冷链保鲜与全程温度监控技术",
        summary="冷鲜牦牛肉气调包装保鲜,冷藏车温度全程监控,货架期延长到21天。",
        description="针对牦牛肉运输中温度失控、变质损耗大的问题,采用气调包装和冷链温度监控平台。",
        keywords="牦牛肉、冷链、保鲜、温度监控",
        field="agriculture",
        maturity="pilot",
        trl=6,
        price_kind="fixed",
        price_cny=Decimal("300000"),
        transfer_modes=["license"],
        tags=["agri_pastoral"],
    )
    too_dear = TechnologyFactory(
        organisation=university,
        title="牦牛肉保鲜冷链一体化装备",
        summary="牦牛肉冷链保鲜装备,冷藏车温度监控,变质率大幅下降。",
        description="集成制冷、气调和温度监控的牦牛肉冷链保鲜装备。",
        keywords="牦牛肉、保鲜、冷链",
        field="agriculture",
        maturity="industrial",
        trl=8,
        price_kind="fixed",
        price_cny=Decimal("2000000"),
        transfer_modes=["transfer"],
        tags=["agri_pastoral"],
    )
    unrelated = TechnologyFactory(
        organisation=university,
        title="高原光伏组件无水清洁机器人",
        summary="光伏电站组件积灰积雪的无水清扫机器人。",
        description="轨道式清扫,零下三十度可作业。",
        keywords="光伏、清洁机器人",
        field="energy",
        maturity="industrial",
        trl=8,
        transfer_modes=["license"],
        tags=["clean_energy"],
    )
    return {"need": need, "fits": fits, "too_dear": too_dear, "unrelated": unrelated}
