"""Sign-up, login, logout, password reset and the organisation pages."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from listings.models import ListingStatus, ReviewEvent
from marketplace.accounts.creditcode import make_credit_code
from marketplace.accounts.models import Membership, Organisation, User
from tests.factories import NeedFactory, OrganisationFactory, TechnologyFactory, UserFactory, member_of

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Lhasa-2026"
SIGNUP = {
    "username": "dawa",
    "display_name": "达瓦",
    "email": "dawa@example.cn",
    "password1": "Qingke-2026-lhasa",
    "password2": "Qingke-2026-lhasa",
}
ORGANISATION = {
    "name": "拉萨高原生物研究所",
    "kind": "institute",
    "region": "tibet",
    "province": "",
    "credit_code": make_credit_code("12540100MB0A12345"),
    "description": "从事高原生物资源研究。",
    "website": "https://bio.example.cn",
    "contact_phone": "0891-6000000",
}


# ------------------------------------------------------------------ sign-up, login, logout


def test_sign_up_creates_the_user_and_logs_in(client):
    response = client.post(reverse("accounts:signup"), SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(username="dawa")
    assert user.display_name == "达瓦" and user.email == "dawa@example.cn"
    assert user.check_password("Qingke-2026-lhasa")
    assert client.get(reverse("accounts:organisations")).context["user"] == user


def test_sign_up_with_mismatched_passwords_shows_the_error_and_creates_nothing(client):
    response = client.post(reverse("accounts:signup"), {**SIGNUP, "password2": "Qingke-2026-other"})
    assert response.status_code == 200
    assert "两次输入的密码不一致" in response.content.decode()
    assert not User.objects.filter(username="dawa").exists()


def test_sign_up_with_a_taken_username_shows_the_error_and_creates_nothing(client):
    UserFactory(username="dawa", email="old@example.cn")
    response = client.post(reverse("accounts:signup"), {**SIGNUP, "username": "DAWA"})
    assert response.status_code == 200
    assert "该用户名已被注册" in response.content.decode()
    assert User.objects.filter(username__iexact="dawa").count() == 1
    assert "_auth_user_id" not in client.session


def test_sign_up_with_a_weak_password_is_refused(client):
    response = client.post(reverse("accounts:signup"), {**SIGNUP, "password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(username="dawa").exists()


def test_login_and_logout(client):
    user = UserFactory(username="tenzin")
    bad = client.post(reverse("accounts:login"), {"username": "tenzin", "password": "wrong"})
    assert bad.status_code == 200 and bad.context["form"].errors
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("accounts:login"), {"username": "tenzin", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    # a GET asks for confirmation and does not log out; the POST does
    assert client.get(reverse("accounts:logout")).status_code == 200
    assert "_auth_user_id" in client.session
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link_and_the_new_password_works(client):
    # given
    user = UserFactory(username="yangzom", email="yangzom@example.cn")

    # when: she asks for a reset
    response = client.post(reverse("accounts:password_reset"), {"email": "yangzom@example.cn"})

    # then: a Chinese mail with a link arrives
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["yangzom@example.cn"] and "重设密码" in message.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    # when: she follows it and sets a new password
    response = client.get(link, follow=True)
    assert response.context["validlink"] is True
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "Niangqu-River-88", "new_password2": "Niangqu-River-88"})
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_complete")

    # then: the new password logs in, the old one does not
    user.refresh_from_db()
    assert user.check_password("Niangqu-River-88") and not user.check_password(PASSWORD)
    assert client.login(username="yangzom", password="Niangqu-River-88")
    # and the link cannot be used twice
    assert client.get(link, follow=True).context["validlink"] is False


def test_password_reset_with_an_unknown_email_sends_nothing_and_reveals_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.cn"})
    assert response.status_code == 302 and len(mail.outbox) == 0


def test_organisation_pages_need_a_login(client):
    response = client.get(reverse("accounts:organisations"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


# ------------------------------------------------------------------ organisations


def test_create_an_organisation_makes_the_creator_its_owner_pending_verification(client):
    user = UserFactory(username="lhamo")
    client.force_login(user)

    response = client.post(reverse("accounts:organisation_create"), ORGANISATION)

    organisation = Organisation.objects.get(name="拉萨高原生物研究所")
    assert response.status_code == 302
    assert response.url == reverse("accounts:organisation_detail", args=[organisation.pk])
    assert organisation.verification == Organisation.Verification.PENDING
    assert Membership.objects.get(organisation=organisation).user == user
    page = client.get(response.url).content.decode()
    assert "待科技局认证,认证后方可提交发布" in page
    listed = client.get(reverse("accounts:organisations"))
    assert [m.organisation for m in listed.context["memberships"]] == [organisation]
    assert "管理员" in listed.content.decode()


def test_a_bad_credit_code_gives_the_chinese_reason_and_saves_nothing(client):
    client.force_login(UserFactory())
    good = ORGANISATION["credit_code"]
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")

    response = client.post(reverse("accounts:organisation_create"), {**ORGANISATION, "credit_code": wrong_check})

    assert response.status_code == 200
    assert f"统一社会信用代码校验位错误:应为 {good[17]}" in response.content.decode()
    assert not Organisation.objects.exists() and not Membership.objects.exists()


def test_a_short_credit_code_and_a_missing_province_are_refused(client):
    client.force_login(UserFactory())
    response = client.post(
        reverse("accounts:organisation_create"),
        {**ORGANISATION, "credit_code": "91540100", "region": "other", "province": ""},
    )
    errors = response.context["form"].errors
    assert "统一社会信用代码应为18位,当前为8位" in errors["credit_code"]
    assert errors["province"]
    assert not Organisation.objects.exists()


def test_the_bureau_kind_cannot_be_chosen_at_sign_up(client):
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:organisation_create"), {**ORGANISATION, "kind": "bureau"})
    assert response.context["form"].errors["kind"]
    assert not Organisation.objects.exists()


def test_a_duplicate_name_or_code_is_a_form_error(client, university):
    client.force_login(UserFactory())
    response = client.post(
        reverse("accounts:organisation_create"), {**ORGANISATION, "credit_code": university.credit_code.lower()}
    )
    assert response.context["form"].errors["credit_code"]
    assert Organisation.objects.count() == 1


def test_members_see_the_organisation_listings_with_status_and_review_notes(client, seller, university):
    TechnologyFactory(
        organisation=university, title="退回的成果", status=ListingStatus.RETURNED, review_note="请补充专利号"
    )
    NeedFactory(organisation=university, title="草稿需求", status=ListingStatus.DRAFT, published_at=None)
    client.force_login(seller)

    response = client.get(reverse("accounts:organisation_detail", args=[university.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "退回的成果" in html and "请补充专利号" in html and "badge-returned" in html
    assert "草稿需求" in html and "badge-draft" in html
    assert reverse("listings:technology_create") in html and reverse("listings:need_create") in html


def test_outsiders_cannot_see_an_organisation_workbench(client, university, buyer):
    client.force_login(buyer)
    response = client.get(reverse("accounts:organisation_detail", args=[university.pk]))
    assert response.status_code == 403
    assert "只有本机构成员可以查看机构工作台" in response.content.decode()


def test_the_owner_adds_an_existing_user_as_a_member(client, seller, university):
    newcomer = UserFactory(username="pasang")
    client.force_login(seller)
    response = client.post(
        reverse("accounts:member_add", args=[university.pk]), {"username": "pasang", "role": "member"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(organisation=university, user=newcomer).role == "member"


def test_adding_an_unknown_user_is_a_form_error(client, seller, university):
    client.force_login(seller)
    response = client.post(
        reverse("accounts:member_add", args=[university.pk]), {"username": "ghost", "role": "member"}
    )
    assert response.status_code == 200
    assert "用户「ghost」不存在" in response.content.decode()
    assert university.memberships.count() == 1


def test_a_non_owner_can_neither_add_members_nor_edit(client, university):
    member = member_of(university, role=Membership.Role.MEMBER, username="norbu")
    UserFactory(username="pasang")
    client.force_login(member)

    add = client.post(reverse("accounts:member_add", args=[university.pk]), {"username": "pasang", "role": "owner"})
    edit_page = client.get(reverse("accounts:organisation_edit", args=[university.pk]))
    edit = client.post(reverse("accounts:organisation_edit", args=[university.pk]), {"description": "篡改"})

    assert add.status_code == 403 and edit_page.status_code == 403 and edit.status_code == 403
    assert not university.memberships.filter(user__username="pasang").exists()
    university.refresh_from_db()
    assert university.description != "篡改"


def test_the_owner_edits_the_profile_of_a_verified_organisation_but_not_its_identity(client, seller, university):
    client.force_login(seller)
    response = client.post(
        reverse("accounts:organisation_edit", args=[university.pk]),
        {
            "description": "新的机构简介",
            "website": "https://utibet.example.cn",
            "contact_phone": "0891-1",
            "name": "改名",
        },
    )
    assert response.status_code == 302
    university.refresh_from_db()
    assert university.description == "新的机构简介" and university.website == "https://utibet.example.cn"
    assert university.name == "西藏大学测试"


def test_a_rejected_organisation_is_corrected_and_asks_again(client):
    organisation = OrganisationFactory(
        verification="rejected", verification_note="信用代码与名称不符", verified_at=None
    )
    owner = member_of(organisation, username="owner")
    client.force_login(owner)
    assert (
        "信用代码与名称不符"
        in client.get(reverse("accounts:organisation_detail", args=[organisation.pk])).content.decode()
    )

    bad = client.post(
        reverse("accounts:organisation_edit", args=[organisation.pk]),
        {**ORGANISATION, "name": organisation.name, "credit_code": "X" * 18},
    )
    assert bad.status_code == 200 and bad.context["form"].errors["credit_code"]

    client.post(reverse("accounts:organisation_edit", args=[organisation.pk]), {**ORGANISATION, "name": "更正后的名称"})
    client.post(reverse("accounts:organisation_request_verification", args=[organisation.pk]))

    organisation.refresh_from_db()
    assert organisation.name == "更正后的名称" and organisation.credit_code == ORGANISATION["credit_code"]
    assert organisation.verification == Organisation.Verification.PENDING
    assert ReviewEvent.objects.filter(organisation=organisation, action="submitted").exists()

    again = client.post(reverse("accounts:organisation_request_verification", args=[organisation.pk]), follow=True)
    assert "只有未通过认证的机构可以重新申请认证" in again.content.decode()
