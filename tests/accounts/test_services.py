import pytest
from django.core.exceptions import ValidationError

from listings.models import Technology
from marketplace.accounts import services
from marketplace.accounts.creditcode import make_credit_code
from marketplace.accounts.models import Organisation
from tests.factories import TechnologyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_nobody_registers_a_bureau_by_themselves():
    user = UserFactory()
    with pytest.raises(ValidationError, match="管理员"):
        services.organisation_create(
            name="假冒科技局",
            kind="bureau",
            region="tibet",
            credit_code=make_credit_code("11540100MB0000001"),
            owner=user,
        )
    assert not Organisation.objects.filter(name="假冒科技局").exists()


def test_an_owner_cannot_change_kind_code_or_verification(seller, university):
    with pytest.raises(ValidationError, match="不能由机构自行修改"):
        services.organisation_update(organisation=university, by=seller, kind="enterprise", verification="verified")
    university.refresh_from_db()
    assert university.kind == "university"


def test_a_new_region_sends_the_organisation_back_to_verification_and_moves_its_listings(seller, university):
    tech = TechnologyFactory(organisation=university)
    services.organisation_update(organisation=university, by=seller, region="jiangsu", description="新简介")
    university.refresh_from_db()
    assert university.verification == "pending"
    assert Technology.objects.get(pk=tech.pk).region == "jiangsu"


def test_editing_the_description_keeps_the_verification(seller, university):
    services.organisation_update(organisation=university, by=seller, description="更新的机构简介")
    university.refresh_from_db()
    assert university.is_verified


def test_an_unverified_organisation_may_correct_its_code_but_never_become_the_bureau(db):
    from tests.factories import OrganisationFactory, member_of

    organisation = OrganisationFactory(verification="rejected")
    owner = member_of(organisation)
    code = make_credit_code("12540000MB0000077")
    services.organisation_update(organisation=organisation, by=owner, credit_code=code.lower())
    organisation.refresh_from_db()
    assert organisation.credit_code == code
    with pytest.raises(ValidationError, match="管理员"):
        services.organisation_update(organisation=organisation, by=owner, kind="bureau")


def test_a_decided_verification_is_not_overwritten(officer):
    from tests.factories import OrganisationFactory

    organisation = OrganisationFactory(verification="verified")
    with pytest.raises(ValidationError, match="已处理"):
        services.organisation_verify(organisation=organisation, by=officer, approve=False, note="重复")
    organisation.refresh_from_db()
    assert organisation.is_verified
