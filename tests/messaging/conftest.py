import io
import os
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from marketplace.messaging import services
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, member_of


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """Rate-limit counters are keyed by user id, and ids come round again from test to test."""
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_PREFIX": uuid.uuid4().hex}}


@pytest.fixture
def technology(university):
    return TechnologyFactory(organisation=university, title="高原光伏组件防积雪涂层")


@pytest.fixture
def need(enterprise):
    return NeedFactory(organisation=enterprise, title="牦牛肉冷链保鲜需求")


@pytest.fixture
def conversation(technology, buyer, seller):
    """The enterprise's buyer asked the university about its technology."""
    conversation, _created = services.conversation_start(by=buyer, technology=technology)
    return conversation


@pytest.fixture
def agency(db):
    return OrganisationFactory(name="拉萨知识产权服务中心", kind="agency")


@pytest.fixture
def agent(agency):
    return member_of(agency, username="agent")


@pytest.fixture
def outsider(db):
    return member_of(OrganisationFactory(name="无关企业", kind="enterprise"), username="outsider")


@pytest.fixture
def send():
    """send(conversation, user, text) through the service, with a fresh client id each time."""
    counter = iter(range(1, 10_000))

    def _send(conversation, user, text="您好", **kwargs):
        client_msg_id = kwargs.pop("client_msg_id", f"t-{user.pk}-{next(counter)}")
        return services.message_send(
            conversation=conversation, by=user, client_msg_id=client_msg_id, text=text, **kwargs
        ).message

    return _send


def png_upload(name="photo.png", size=(64, 48)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf_upload(name="方案.pdf") -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture(scope="session")
def scratch():
    """A migrated scratch database for real server processes (never the test database, never the site's)."""
    from .servers import ScratchDatabase

    db = ScratchDatabase(os.environ.get("DATABASE_URL", ""))
    try:
        db.migrate()
        yield db
    finally:
        db.drop()
