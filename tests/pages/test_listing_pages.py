"""Technology and need pages: lists with filters, detail visibility, forms, workflow buttons, uploads."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from listings.models import IPRecord, ListingStatus, Need, Technology, TechnologyImage
from listings.patents import make_patent_number
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, member_of

pytestmark = pytest.mark.django_db

GOOD_PATENT = "ZL201710601862.3"


def tech_post(organisation, **changes):
    """A complete, valid technology form submission."""
    data = {
        "organisation": organisation.pk,
        "title": "高原光伏组件防积雪涂层",
        "summary": "降低积雪遮挡损失的疏水涂层",
        "description": "适用于海拔4000米以上光伏电站,冬季发电量提升8%。",
        "benefits": "已在当雄县光伏电站示范应用。",
        "keywords": "光伏 涂层 防积雪",
        "field": "energy",
        "tags": ["clean_energy", "ecology"],
        "maturity": "pilot",
        "trl": "6",
        "transfer_modes": ["license", "transfer"],
        "price_kind": "range",
        "price_cny": "300000",
        "price_max_cny": "500000",
        "patent_numbers": f"{GOOD_PATENT}\n\n{make_patent_number('201920123456')}\n",
        "other_ip": "软件著作权: 光伏电站积雪监测系统 V1.0 / 2021SR0123456\n技术秘密: 涂层配方",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def need_post(organisation, **changes):
    data = {
        "organisation": organisation.pk,
        "title": "牦牛肉冷链保鲜",
        "description": "夏季运往内地的牦牛肉容易变质,希望找到保鲜与冷链方案。",
        "field": "agriculture",
        "tags": ["agri_pastoral"],
        "budget_cny": "200000",
        "county": "duilongdeqing",
        "desired_modes": ["transfer", "service"],
        "min_maturity": "",
        "deadline": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
    }
    data.update(changes)
    return data


def png_upload(name="photo.png", size=(640, 480)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def page_titles(response) -> list[str]:
    return [listing.title for listing in response.context["page"].object_list]


# ----------------------------------------------------------------- technology list


def test_the_list_shows_published_technologies_only(client, university):
    # given a published technology, a draft and a pending one
    TechnologyFactory(organisation=university, title="公开成果")
    TechnologyFactory(organisation=university, title="草稿成果", status=ListingStatus.DRAFT)
    TechnologyFactory(organisation=university, title="待审成果", status=ListingStatus.PENDING)

    # when anyone opens the list
    response = client.get(reverse("listings:technology_list"))

    # then only the published one is there
    assert response.status_code == 200
    assert page_titles(response) == ["公开成果"]
    assert "公开成果" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"field": "energy"}, {"北京光伏", "西藏光热"}),
        ({"tag": "health"}, {"江苏藏药"}),
        ({"region": "aid"}, {"北京光伏", "江苏藏药"}),
        ({"region": "jiangsu"}, {"江苏藏药"}),
        ({"maturity": "industrial"}, {"西藏光热"}),
        ({"q": "藏药"}, {"江苏藏药"}),
        ({"field": "energy", "region": "tibet"}, {"西藏光热"}),
    ],
)
def test_the_list_filters_by_the_query_string(client, query, expected):
    # given technologies from Beijing, Jiangsu and Tibet
    beijing = OrganisationFactory(region="beijing", kind="aid_partner")
    jiangsu = OrganisationFactory(region="jiangsu", kind="university")
    tibet = OrganisationFactory(region="tibet")
    TechnologyFactory(organisation=beijing, title="北京光伏", field="energy", tags=["clean_energy"])
    TechnologyFactory(organisation=jiangsu, title="江苏藏药", field="biomed", tags=["health"])
    TechnologyFactory(
        organisation=tibet, title="西藏光热", field="energy", maturity="industrial", trl=8, tags=["clean_energy"]
    )

    # when the list is filtered
    response = client.get(reverse("listings:technology_list"), query)

    # then exactly the matching technologies are shown
    assert set(page_titles(response)) == expected


def test_a_bad_filter_value_is_reported_and_ignored(client, university):
    TechnologyFactory(organisation=university, title="青稞技术")
    response = client.get(reverse("listings:technology_list"), {"field": "nonsense", "q": "青稞"})
    assert response.status_code == 200
    assert page_titles(response) == ["青稞技术"]
    assert response.context["form"].errors["field"]


@pytest.mark.parametrize(
    "query", [{"q": "青稞\x00"}, {"q": "长" * 500}, {"tag": "x", "region": "mars", "maturity": "?"}]
)
def test_unusable_filters_never_break_the_list(client, university, query):
    TechnologyFactory(organisation=university, title="青稞技术")
    response = client.get(reverse("listings:technology_list"), query)
    assert response.status_code == 200
    assert page_titles(response) == ["青稞技术"]
    assert response.context["form"].errors


def test_the_list_pages_by_twenty_and_keeps_the_filters_in_the_links(client, university):
    # given 25 energy technologies and one in agriculture
    for n in range(25):
        TechnologyFactory(organisation=university, title=f"能源成果{n:02d}", field="energy")
    TechnologyFactory(organisation=university, title="农业成果", field="agriculture")

    first = client.get(reverse("listings:technology_list"), {"field": "energy"})
    second = client.get(reverse("listings:technology_list"), {"field": "energy", "page": "2"})

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5
    assert set(page_titles(first)).isdisjoint(page_titles(second))
    assert "农业成果" not in page_titles(first) + page_titles(second)
    assert "?field=energy&amp;page=2" in first.content.decode()


def test_the_lists_run_as_many_queries_for_twenty_listings_as_for_two(client, university, enterprise):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for _ in range(2):
        TechnologyFactory(organisation=university)
        NeedFactory(organisation=enterprise)
    few = [queries(reverse("listings:technology_list")), queries(reverse("listings:need_list"))]
    for _ in range(18):
        TechnologyFactory(organisation=university)
        NeedFactory(organisation=enterprise)
    many = [queries(reverse("listings:technology_list")), queries(reverse("listings:need_list"))]
    assert many == few


@pytest.mark.parametrize("page", ["abc", "999", "-1"])
def test_a_bad_page_number_gives_a_page_not_an_error(client, university, page):
    TechnologyFactory(organisation=university)
    response = client.get(reverse("listings:technology_list"), {"page": page})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1


def test_an_empty_list_says_so_honestly(client, db):
    response = client.get(reverse("listings:technology_list"))
    assert "还没有公开发布的科技成果" in response.content.decode()
    response = client.get(reverse("listings:technology_list"), {"field": "nuclear"})
    assert "没有符合筛选条件的科技成果" in response.content.decode()


def test_cards_show_the_facts_and_the_thumbnail(client, seller, university):
    # given a Beijing technology with an image
    beijing = OrganisationFactory(name="北京某大学", region="beijing")
    owner = member_of(beijing)
    tech = TechnologyFactory(organisation=beijing, title="北京援藏成果", trl=7, price_kind="negotiable", price_cny=None)
    client.force_login(owner)
    client.post(reverse("listings:technology_image_add", args=[tech.pk]), {"image": png_upload(size=(1200, 900))})
    image = TechnologyImage.objects.get()

    response = client.get(reverse("listings:technology_list"))

    html = response.content.decode()
    assert "北京某大学" in html
    assert "北京援藏" in html  # the aid badge
    assert "中试 · TRL 7" in html
    assert "面议" in html
    assert "许可" in html and "转让" in html
    assert image.thumb_320.url in html


# ----------------------------------------------------------------- technology detail


def test_a_draft_of_another_organisation_is_not_found(client, buyer, university):
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT)
    url = reverse("listings:technology_detail", args=[draft.pk])

    assert client.get(url).status_code == 404  # anonymous
    client.force_login(buyer)
    assert client.get(url).status_code == 404  # member of another organisation
    assert client.get(reverse("listings:technology_detail", args=[999999])).status_code == 404


def test_owner_and_bureau_see_a_draft_with_its_status(client, seller, officer, university):
    draft = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, title="未发布成果")
    url = reverse("listings:technology_detail", args=[draft.pk])
    for user in (seller, officer):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert "badge-draft" in response.content.decode()
    assert response.context["can_edit"] is False  # the bureau reviews, it does not edit


def test_the_detail_shows_facts_ip_and_the_contact_button(client, buyer, university):
    tech = TechnologyFactory(organisation=university, title="青稞β-葡聚糖提取", benefits="亩产值提高三成")
    IPRecord.objects.create(technology=tech, kind="invention", number=GOOD_PATENT)
    url = reverse("listings:technology_detail", args=[tech.pk])

    anonymous = client.get(url).content.decode()
    assert "badge-published" not in anonymous  # status only for owners and the bureau
    assert "登录后联系对方" in anonymous

    client.force_login(buyer)
    html = client.get(url).content.decode()
    assert "青稞β-葡聚糖提取" in html and "亩产值提高三成" in html
    assert GOOD_PATENT in html and "发明专利" in html
    assert "西藏大学测试" in html and "已认证" in html
    assert "TRL 6" in html and "¥50 万" in html
    assert 'action="/messages/start/"' in html and f'name="technology" value="{tech.pk}"' in html
    assert f'href="/contracts/deals/new/?technology={tech.pk}"' in html  # a deal can be opened from here
    assert "提交审核" not in html and "删除图片" not in html


def test_the_review_note_of_a_returned_technology_is_shown_to_its_owner(client, seller, university):
    tech = TechnologyFactory(
        organisation=university, status=ListingStatus.RETURNED, review_note="请补充中试数据", published_at=None
    )
    client.force_login(seller)
    html = client.get(reverse("listings:technology_detail", args=[tech.pk])).content.decode()
    assert "请补充中试数据" in html
    assert "提交审核" in html


# ----------------------------------------------------------------- create and edit


def test_creating_a_technology_through_the_form(client, seller, university):
    client.force_login(seller)
    assert client.get(reverse("listings:technology_create")).status_code == 200

    response = client.post(reverse("listings:technology_create"), tech_post(university))

    tech = Technology.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("listings:technology_detail", args=[tech.pk])
    assert tech.status == ListingStatus.DRAFT and tech.organisation == university
    assert tech.price_cny == Decimal("300000") and tech.price_max_cny == Decimal("500000")
    assert {t.code for t in tech.tags.all()} == {"clean_energy", "ecology"}
    assert {m.code for m in tech.transfer_modes.all()} == {"license", "transfer"}
    records = {(ip.kind, ip.number, ip.title) for ip in tech.ip_records.all()}
    assert records == {
        ("invention", GOOD_PATENT, ""),
        ("utility", make_patent_number("201920123456"), ""),
        ("software", "2021SR0123456", "光伏电站积雪监测系统 V1.0"),
        ("know_how", "", "涂层配方"),
    }


def test_save_and_submit_sends_the_technology_to_review(client, seller, university):
    client.force_login(seller)
    client.post(reverse("listings:technology_create"), tech_post(university, submit="on"))
    assert Technology.objects.get().status == ListingStatus.PENDING


def test_a_bad_patent_line_is_quoted_in_the_error_and_nothing_is_saved(client, seller, university):
    client.force_login(seller)
    data = tech_post(university, patent_numbers=f"{GOOD_PATENT}\nZL201710601862.4\nabc123")

    response = client.post(reverse("listings:technology_create"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors["patent_numbers"]
    assert any("第 2 行" in e and "ZL201710601862.4" in e and "校验位" in e for e in errors)
    assert any("第 3 行" in e and "abc123" in e for e in errors)
    assert "ZL201710601862.4" in response.content.decode()
    assert not Technology.objects.exists() and not IPRecord.objects.exists()


@pytest.mark.parametrize(
    ("other_ip", "message"),
    [
        ("软件著作权 没有冒号", "类型: 名称 / 编号"),
        ("商标: 雪域", "未知的知识产权类型"),
        ("发明专利: 某方法 / ZL201710601862.3", "专利请填在上方"),
        ("软件著作权: 系统A / 2021SR1\n软件著作权: 系统B / 2021SR1", "重复"),
    ],
)
def test_a_bad_other_ip_line_is_a_form_error(client, seller, university, other_ip, message):
    client.force_login(seller)
    response = client.post(reverse("listings:technology_create"), tech_post(university, other_ip=other_ip))
    assert any(message in e for e in response.context["form"].errors["other_ip"])
    assert not Technology.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"maturity": "pilot", "trl": "2"}, "trl", "不一致"),
        ({"price_kind": "range", "price_cny": "500000", "price_max_cny": "300000"}, "price_max_cny", "不能低于"),
        ({"price_kind": "fixed", "price_cny": ""}, "price_cny", "请填写价格"),
        ({"transfer_modes": None}, "transfer_modes", "至少选择一种"),
        ({"trl": "12"}, "trl", ""),
        ({"price_cny": "-5"}, "price_cny", ""),
    ],
)
def test_inconsistent_technology_data_is_shown_on_the_field(client, seller, university, changes, field, message):
    client.force_login(seller)
    response = client.post(reverse("listings:technology_create"), tech_post(university, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors)
    assert not Technology.objects.exists()


def test_an_unverified_organisation_cannot_save_and_submit(client, db):
    org = OrganisationFactory(verification="pending")
    owner = member_of(org)
    client.force_login(owner)
    response = client.post(reverse("listings:technology_create"), tech_post(org, submit="on"))
    assert response.status_code == 200
    assert "认证" in str(response.context["form"].non_field_errors())
    assert not Technology.objects.exists()


def test_one_cannot_publish_for_an_organisation_one_does_not_belong_to(client, buyer, university):
    client.force_login(buyer)
    response = client.post(reverse("listings:technology_create"), tech_post(university))
    assert "organisation" in response.context["form"].errors
    assert not Technology.objects.exists()


def test_a_user_without_an_organisation_is_told_what_to_do(client, db):
    client.force_login(member_of(OrganisationFactory(kind="bureau")))
    response = client.get(reverse("listings:technology_create"))
    assert response.status_code == 200
    assert "还没有加入任何可以发布成果的机构" in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, university):
    tech = TechnologyFactory(organisation=university)
    for url in (reverse("listings:technology_create"), reverse("listings:technology_edit", args=[tech.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url


def test_editing_by_a_non_member_is_forbidden(client, buyer, university):
    tech = TechnologyFactory(organisation=university, title="原标题")
    client.force_login(buyer)
    url = reverse("listings:technology_edit", args=[tech.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, tech_post(university, title="篡改")).status_code == 403
    tech.refresh_from_db()
    assert tech.title == "原标题"


def test_editing_a_published_technology_sends_it_back_to_review(client, seller, university):
    tech = TechnologyFactory(organisation=university)
    IPRecord.objects.create(technology=tech, kind="software", number="2020SR000001", title="旧系统")
    client.force_login(seller)
    url = reverse("listings:technology_edit", args=[tech.pk])

    form = client.get(url).context["form"]
    assert form.initial["other_ip"] == "软件著作权: 旧系统 / 2020SR000001"
    assert "organisation" not in form.fields

    response = client.post(url, tech_post(university, title="改进版", other_ip="", patent_numbers=GOOD_PATENT))

    assert response.status_code == 302
    tech.refresh_from_db()
    assert tech.title == "改进版" and tech.status == ListingStatus.PENDING
    assert [ip.number for ip in tech.ip_records.all()] == [GOOD_PATENT]


def test_an_invalid_edit_changes_nothing(client, seller, university):
    tech = TechnologyFactory(organisation=university, title="原标题")
    client.force_login(seller)
    response = client.post(
        reverse("listings:technology_edit", args=[tech.pk]), tech_post(university, title="新标题", trl="9")
    )
    assert response.status_code == 200 and response.context["form"].errors["trl"]
    tech.refresh_from_db()
    assert tech.title == "原标题" and tech.status == ListingStatus.PUBLISHED


def test_a_pending_technology_cannot_be_edited(client, seller, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.PENDING)
    client.force_login(seller)
    response = client.get(reverse("listings:technology_edit", args=[tech.pk]), follow=True)
    assert "「待审核」状态下不能修改" in response.content.decode()


# ----------------------------------------------------------------- submit and withdraw


def test_submit_and_withdraw_buttons(client, seller, university):
    tech = TechnologyFactory(organisation=university, status=ListingStatus.DRAFT, published_at=None)
    client.force_login(seller)

    assert client.get(reverse("listings:technology_submit", args=[tech.pk])).status_code == 405
    response = client.post(reverse("listings:technology_submit", args=[tech.pk]), follow=True)
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING
    assert "已提交审核" in response.content.decode()

    # submitting twice is refused with a message, not an error page
    response = client.post(reverse("listings:technology_submit", args=[tech.pk]), follow=True)
    assert response.status_code == 200
    assert "「待审核」状态下不能提交审核" in response.content.decode()

    client.post(reverse("listings:technology_withdraw", args=[tech.pk]))
    tech.refresh_from_db()
    assert tech.status == ListingStatus.WITHDRAWN


def test_strangers_cannot_submit_or_withdraw(client, buyer, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(buyer)
    assert client.post(reverse("listings:technology_withdraw", args=[tech.pk])).status_code == 403
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PUBLISHED


# ----------------------------------------------------------------- images and attachments


def test_uploading_and_deleting_an_image_through_the_page(client, seller, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(seller)

    response = client.post(
        reverse("listings:technology_image_add", args=[tech.pk]), {"image": png_upload(), "caption": "示范电站"}
    )
    assert response.status_code == 302
    image = TechnologyImage.objects.get(technology=tech)
    assert image.caption == "示范电站"
    html = client.get(reverse("listings:technology_detail", args=[tech.pk])).content.decode()
    assert image.thumb_960.url in html and image.image.url in html

    client.post(reverse("listings:technology_image_delete", args=[tech.pk, image.pk]))
    assert not TechnologyImage.objects.exists()


def test_a_bad_image_shows_the_reason_on_the_upload_page(client, seller, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(seller)
    fake = SimpleUploadedFile("photo.jpg", b"this is not an image at all", content_type="image/jpeg")

    response = client.post(reverse("listings:technology_image_add", args=[tech.pk]), {"image": fake})

    assert response.status_code == 200
    assert "无法识别的文件" in " ".join(response.context["form"].errors["image"])
    assert "无法识别的文件" in response.content.decode()
    assert not TechnologyImage.objects.exists()


def test_a_missing_file_is_a_form_error(client, seller, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(seller)
    response = client.post(reverse("listings:technology_image_add", args=[tech.pk]), {})
    assert response.status_code == 200 and response.context["form"].errors["image"]


def test_strangers_cannot_upload_or_delete_images(client, seller, buyer, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(seller)
    client.post(reverse("listings:technology_image_add", args=[tech.pk]), {"image": png_upload()})
    image = TechnologyImage.objects.get()

    client.force_login(buyer)
    assert (
        client.post(reverse("listings:technology_image_add", args=[tech.pk]), {"image": png_upload()}).status_code
        == 403
    )
    assert client.post(reverse("listings:technology_image_delete", args=[tech.pk, image.pk])).status_code == 403
    assert client.post(reverse("listings:technology_image_delete", args=[tech.pk, image.pk + 100])).status_code == 404
    assert TechnologyImage.objects.count() == 1


def test_attachments_are_pdf_only(client, seller, university):
    tech = TechnologyFactory(organisation=university)
    client.force_login(seller)
    url = reverse("listings:technology_attachment_add", args=[tech.pk])

    response = client.post(url, {"file": png_upload(name="report.pdf")})
    assert response.status_code == 200
    assert "必须是 PDF" in " ".join(response.context["form"].errors["file"])

    pdf = SimpleUploadedFile("成果报告.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    response = client.post(url, {"file": pdf})
    assert response.status_code == 302
    assert [a.name for a in tech.attachments.all()] == ["成果报告.pdf"]
    assert "成果报告.pdf" in client.get(reverse("listings:technology_detail", args=[tech.pk])).content.decode()


# ----------------------------------------------------------------- needs


def test_creating_a_need_through_the_form(client, buyer, enterprise):
    client.force_login(buyer)
    response = client.post(reverse("listings:need_create"), need_post(enterprise, submit="on"))
    need = Need.objects.get()
    assert response.status_code == 302
    assert need.status == ListingStatus.PENDING and need.min_maturity == ""
    assert need.budget_cny == Decimal("200000")
    assert {m.code for m in need.desired_modes.all()} == {"transfer", "service"}


def test_a_need_with_a_past_deadline_is_refused(client, buyer, enterprise):
    client.force_login(buyer)
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = client.post(reverse("listings:need_create"), need_post(enterprise, deadline=past))
    assert response.status_code == 200
    assert "截止日期不能早于今天" in response.context["form"].errors["deadline"]
    assert not Need.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deadline": "2026-13-45"}, "deadline"),
        ({"county": "beijing"}, "county"),
        ({"budget_cny": "很多"}, "budget_cny"),
    ],
)
def test_bad_need_input_is_a_form_error(client, buyer, enterprise, changes, field):
    client.force_login(buyer)
    response = client.post(reverse("listings:need_create"), need_post(enterprise, **changes))
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Need.objects.exists()


def test_the_need_list_filters_by_county(client, enterprise):
    NeedFactory(organisation=enterprise, title="达孜需求", county="dazi")
    NeedFactory(organisation=enterprise, title="城关需求", county="chengguan", field="electronics")
    assert page_titles(client.get(reverse("listings:need_list"), {"county": "dazi"})) == ["达孜需求"]
    assert page_titles(client.get(reverse("listings:need_list"), {"field": "electronics"})) == ["城关需求"]
    assert (
        "没有符合筛选条件的技术需求" in client.get(reverse("listings:need_list"), {"tag": "tourism"}).content.decode()
    )


def test_the_need_detail_shows_budget_deadline_and_days_left(client, buyer, enterprise):
    need = NeedFactory(
        organisation=enterprise,
        budget_cny=None,
        min_maturity="",
        deadline=timezone.localdate() + datetime.timedelta(days=12),
    )
    html = client.get(reverse("listings:need_detail", args=[need.pk])).content.decode()
    assert "面议" in html and "还剩 12 天" in html and "堆龙德庆区" in html and "不限" in html


def test_a_draft_need_is_private_and_its_owner_can_edit_it(client, buyer, seller, enterprise):
    need = NeedFactory(organisation=enterprise, status=ListingStatus.DRAFT, published_at=None)
    client.force_login(seller)
    assert client.get(reverse("listings:need_detail", args=[need.pk])).status_code == 404
    assert client.get(reverse("listings:need_edit", args=[need.pk])).status_code == 404

    client.force_login(buyer)
    response = client.post(reverse("listings:need_edit", args=[need.pk]), need_post(enterprise, title="新的需求名称"))
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.title == "新的需求名称" and need.status == ListingStatus.DRAFT

    client.post(reverse("listings:need_submit", args=[need.pk]))
    need.refresh_from_db()
    assert need.status == ListingStatus.PENDING
    client.post(reverse("listings:need_withdraw", args=[need.pk]))
    need.refresh_from_db()
    assert need.status == ListingStatus.WITHDRAWN


def test_a_need_attachment_through_the_page(client, buyer, enterprise):
    need = NeedFactory(organisation=enterprise)
    client.force_login(buyer)
    url = reverse("listings:need_attachment_add", args=[need.pk])
    response = client.post(url, {"file": SimpleUploadedFile("需求.pdf", b"%PDF-1.4\nno end")})
    assert "不完整" in " ".join(response.context["form"].errors["file"])
    assert not need.attachments.exists()


def test_a_returned_technology_is_corrected_and_resubmitted_from_the_edit_form(client, seller, university):
    from listings.models import ListingStatus

    tech = TechnologyFactory(organisation=university, status=ListingStatus.RETURNED, review_note="补充专利号")
    client.force_login(seller)
    page = client.get(reverse("listings:technology_edit", args=[tech.pk]))
    assert "submit" in page.context["form"].fields
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(tags=["agri_pastoral"], transfer_modes=["transfer"], submit="on", summary="补充了专利号与应用案例")
    response = client.post(reverse("listings:technology_edit", args=[tech.pk]), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    tech.refresh_from_db()
    assert tech.status == ListingStatus.PENDING and tech.summary == "补充了专利号与应用案例"
