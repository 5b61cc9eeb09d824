"""load_demo: realistic, valid, idempotent demo data and the printed logins."""

import datetime
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from listings import selectors
from listings.demo import organisations as demo_orgs
from listings.demo.builder import DEMO_PASSWORD, load_demo, patent_title
from listings.demo.specs import SpecError, parse_needs, parse_technologies
from listings.models import IPRecord, ListingStatus, Need, ReviewEvent, Tag, Technology, TechnologyImage
from listings.patents import parse_patent_number
from listings.vocab import MATURITY_TRL, Field
from marketplace.accounts.creditcode import credit_code_error
from marketplace.accounts.models import Membership, Organisation, User
from tests.factories import OrganisationFactory

LOGINS = ["bureau", "xizang_univ", "beijing_aid", "jiangsu_aid", "enterprise", "agency", "admin"]
REGION_CODES = {"tibet": "54", "beijing": "11", "jiangsu": "32"}
MODELS = (Organisation, User, Membership, Technology, Need, IPRecord, ReviewEvent, TechnologyImage)
MODELS += (Technology.tags.through, Technology.transfer_modes.through, Need.tags.through, Need.desired_modes.through)


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo loaded once for the class, in a transaction rolled back afterwards."""
    media = tmp_path_factory.mktemp("demo-media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media)), transaction.atomic():
        result = load_demo()
        yield result, media
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
class TestLoadedDemo:
    def test_counts_and_kinds_of_organisations(self):
        orgs = Organisation.objects.all()
        assert orgs.count() >= 30
        assert Technology.objects.count() >= 220
        assert Need.objects.count() >= 55
        bureau = orgs.get(name="拉萨市科学技术局")
        assert bureau.kind == "bureau" and bureau.region == "tibet" and bureau.is_verified
        for region in ("beijing", "jiangsu"):
            aid = orgs.filter(region=region)
            assert aid.filter(kind="aid_partner").exists()
            assert aid.filter(kind__in=["university", "institute"]).count() >= 3
        assert {"西藏大学", "西藏农牧学院", "西藏藏医药大学", "南京农业大学", "中国农业大学"} <= set(
            orgs.values_list("name", flat=True)
        )
        assert orgs.filter(kind="agency").count() >= 3
        assert orgs.filter(kind="enterprise", region="tibet").count() >= 15
        assert orgs.filter(verification="pending").count() >= 2

    def test_credit_codes_are_valid_with_the_region_in_positions_3_and_4(self):
        for org in Organisation.objects.all():
            assert credit_code_error(org.credit_code) is None, org.name
            assert org.credit_code[2:4] == REGION_CODES[org.region], org.name
            org.full_clean()

    def test_patent_numbers_are_valid_and_about_sixty_percent_of_technologies_have_patents(self):
        patents = IPRecord.objects.filter(kind__in=["invention", "utility", "design"])
        numbers = list(patents.values_list("number", "kind"))
        assert numbers
        for number, kind in numbers:
            assert parse_patent_number(number) == (number, kind)
        assert len({n for n, _ in numbers}) == len(numbers)  # no number used twice
        share = Technology.objects.filter(ip_records__in=patents).distinct().count() / Technology.objects.count()
        assert 0.5 <= share <= 0.8
        assert IPRecord.objects.filter(kind="software").count() >= 10
        assert IPRecord.objects.filter(kind="plant_variety").count() >= 5
        for record in IPRecord.objects.all()[:80]:
            record.full_clean()

    def test_every_technology_is_valid_with_a_trl_inside_its_maturity_band(self):
        low_price, high_price = Decimal("50000"), Decimal("8000000")
        for tech in Technology.objects.prefetch_related("transfer_modes", "tags"):
            tech.full_clean()
            low, high = MATURITY_TRL[tech.maturity]
            assert low <= tech.trl <= high, tech.title
            assert tech.transfer_modes.all(), tech.title
            assert tech.tags.all(), tech.title
            assert len(tech.summary) <= 300 and tech.benefits and tech.keywords
            assert len(tech.description) >= 80, tech.title
            for price in (tech.price_cny, tech.price_max_cny):
                assert price is None or low_price <= price <= high_price, tech.title
            assert tech.region == tech.organisation.region
        kinds = Counter(Technology.objects.values_list("price_kind", flat=True))
        assert kinds["fixed"] and kinds["range"] and kinds["negotiable"]

    def test_every_need_is_valid(self):
        for need in Need.objects.prefetch_related("desired_modes"):
            need.full_clean()
            assert need.desired_modes.all(), need.title
        assert Need.objects.filter(budget_cny__isnull=True).exists()  # 面议
        assert Need.objects.filter(budget_cny__isnull=False).count() >= 40

    def test_texts_are_distinct(self):
        for model in (Technology, Need):
            titles = list(model.objects.values_list("title", flat=True))
            assert len(set(titles)) == len(titles)
            descriptions = list(model.objects.values_list("description", flat=True))
            assert len(set(descriptions)) == len(descriptions)

    def test_fields_and_featured_industries_are_all_used(self):
        published = Technology.objects.published()
        assert set(published.values_list("field", flat=True)) >= set(Field.values) - {"nuclear", "aerospace"}
        assert len(set(Technology.objects.values_list("field", flat=True))) >= 10
        top = Counter(Technology.objects.values_list("field", flat=True)).most_common(2)
        assert {field for field, _ in top} == {"agriculture", "biomed"}  # Lhasa's featured industries lead
        for tag in Tag.objects.all():
            assert published.filter(tags=tag).exists(), tag.code

    def test_statuses_follow_the_workflow(self):
        now = timezone.now()
        techs = Counter(Technology.objects.values_list("status", flat=True))
        assert techs["published"] >= 170
        assert techs["pending"] == 15 and techs["draft"] == 10 and techs["returned"] == 5
        assert techs["negotiating"] and techs["transferred"] and techs["withdrawn"]
        for tech in Technology.objects.filter(status=ListingStatus.RETURNED):
            assert tech.review_note
            assert tech.review_events.filter(action="returned", note=tech.review_note).exists()
        for tech in Technology.objects.published():
            assert now - datetime.timedelta(days=548) <= tech.published_at <= now
            assert tech.created_at <= tech.submitted_at <= tech.published_at
        assert not Technology.objects.filter(status="pending", organisation__verification="pending").exists()
        published_dates = Technology.objects.published().values_list("published_at", flat=True)
        assert len({d.strftime("%Y-%m") for d in published_dates}) >= 15  # spread over 18 months

    def test_needs_have_future_deadlines_except_the_expired_ones(self):
        today = timezone.localdate()
        needs = Counter(Need.objects.values_list("status", flat=True))
        assert needs["published"] >= 35 and needs["pending"] >= 5 and needs["expired"] >= 3
        assert not Need.objects.filter(status="published", deadline__lt=today).exists()
        assert all(n.deadline < today for n in Need.objects.filter(status="expired"))
        assert Need.objects.published().count() == needs["published"] + needs["negotiating"]

    def test_the_review_queue_has_work(self):
        queue = selectors.review_queue()
        assert queue["technologies"].count() == 15
        assert queue["needs"].count() >= 5
        assert queue["organisations"].count() >= 2

    def test_every_login_authenticates_with_the_demo_password(self):
        for username in LOGINS:
            assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
        assert User.objects.get(username="bureau").is_bureau
        assert User.objects.get(username="admin").is_superuser
        for username, org_key, _ in demo_orgs.LOGINS:
            org = Organisation.objects.get(credit_code=demo_orgs.BY_KEY[org_key].credit_code)
            assert Membership.objects.filter(user__username=username, organisation=org, role="owner").exists()
        assert Organisation.objects.get(memberships__user__username="beijing_aid").region == "beijing"
        assert Organisation.objects.get(memberships__user__username="jiangsu_aid").region == "jiangsu"
        assert authenticate(username="xzau", password=DEMO_PASSWORD) is not None  # every organisation has a login

    def test_about_25_technologies_have_images_with_thumbnails(self, demo):
        _, media = demo
        with_images = Technology.objects.filter(images__isnull=False).distinct()
        assert 20 <= with_images.count() <= 30
        assert all(t.is_public for t in with_images)
        for image in TechnologyImage.objects.all():
            for stored in (image.image, image.thumb_320, image.thumb_960):
                assert (Path(media) / stored.name).is_file()
            assert image.thumb_320.name.endswith(".webp") and image.width == 960

    def test_a_second_run_creates_nothing_and_prints_the_logins(self):
        before = {model: model.objects.count() for model in MODELS}
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        assert {model: model.objects.count() for model in MODELS} == before
        text = out.getvalue()
        assert "已存在" in text
        for username in LOGINS:
            assert username in text
        assert DEMO_PASSWORD in text

    def test_a_rerun_repairs_changed_or_missing_logins(self):
        agency = User.objects.get(username="agency")
        agency.set_password("something-else")
        agency.save()
        User.objects.filter(username="beijing_aid").delete()

        call_command("load_demo", stdout=io.StringIO())

        assert authenticate(username="agency", password=DEMO_PASSWORD) is not None
        assert authenticate(username="beijing_aid", password=DEMO_PASSWORD) is not None
        assert Membership.objects.get(user__username="beijing_aid").organisation.name == "北京援藏科技成果转化服务中心"


@pytest.mark.django_db
def test_an_organisation_with_a_demo_name_stops_the_load_with_a_clear_error_and_writes_nothing():
    OrganisationFactory(name="西藏大学")
    users = User.objects.count()

    with pytest.raises(CommandError, match="西藏大学"):
        call_command("load_demo", "--no-images", stdout=io.StringIO())

    assert Organisation.objects.count() == 1
    assert User.objects.count() == users
    assert not Technology.objects.exists()


@pytest.mark.django_db
def test_load_without_images_is_quick_and_complete():
    started = timezone.now()
    call_command("load_demo", "--no-images", stdout=io.StringIO())
    assert (timezone.now() - started).total_seconds() < 30
    assert Technology.objects.count() >= 220 and not TechnologyImage.objects.exists()


def test_a_bad_data_block_names_the_listing_and_the_word():
    block = "@ xzu | 能源 | 能源 交通 | 7 | 许可 | 50\n标题甲\n简介\n描述\n效益\n关键词"
    with pytest.raises(SpecError, match=r"标题甲.*交通"):
        parse_technologies(block)
    with pytest.raises(SpecError, match="6行"):
        parse_technologies("@ xzu | 能源 | 能源 | 7 | 许可 | 50\n只有标题")
    with pytest.raises(SpecError, match="价格"):
        parse_technologies(block.replace("能源 交通", "能源").replace("| 50", "| 五十"))
    with pytest.raises(SpecError, match="县区"):
        parse_needs("@ qingke | 农业 | 农牧 | 拉萨县 | 30 | 转让 | 中试 | 90\n标题乙\n描述")


@pytest.mark.django_db
def test_a_deleted_login_organisation_is_reported_instead_of_crashing():
    call_command("load_demo", "--no-images", stdout=io.StringIO())
    broker = Organisation.objects.get(name="拉萨科创技术经纪有限公司")
    Membership.objects.filter(organisation=broker).delete()
    broker.technologys.all().delete()
    broker.needs.all().delete()
    broker.delete()

    with pytest.raises(CommandError, match="拉萨科创技术经纪有限公司"):
        call_command("load_demo", stdout=io.StringIO())

    assert Technology.objects.count() >= 220  # nothing else touched


def test_patent_titles_name_methods_materials_and_devices():
    assert patent_title("发芽青稞(富γ-氨基丁酸)加工技术", "invention", 0) == "一种发芽青稞加工方法"
    assert patent_title("气凝胶复合柔性保温材料", "invention", 0) == "一种气凝胶复合柔性保温材料及其制备方法"
    assert patent_title("高原小型青稞联合收割机", "utility", 0) == "一种高原小型青稞联合收割机用控制装置"


@pytest.mark.django_db
def test_needs_are_recent_and_pure_service_offers_carry_no_patents():
    call_command("load_demo", "--no-images", stdout=io.StringIO())
    now = timezone.now()
    for need in Need.objects.exclude(published_at=None):
        assert need.created_at <= need.submitted_at <= need.published_at <= now
        assert need.published_at.date() < need.deadline
        assert (need.deadline - need.published_at.date()).days <= 600
    services = Technology.objects.filter(organisation__kind="agency")
    assert services.exists()
    assert not IPRecord.objects.filter(technology__in=services, kind__in=["invention", "utility", "design"]).exists()
