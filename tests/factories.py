"""Factories for tests and benchmarks (factory_boy)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from listings.models import ListingStatus, Need, Tag, Technology, TransferMode
from listings.vocab import County, Field, Maturity
from marketplace.accounts.creditcode import make_credit_code
from marketplace.accounts.models import Membership, Organisation, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.cn")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-Lhasa-2026")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def _credit_code(n: int) -> str:
    return make_credit_code(f"91540100MA6T{n:05d}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = Organisation.Kind.UNIVERSITY
    region = Organisation.Region.TIBET
    credit_code = factory.Sequence(_credit_code)
    verification = Organisation.Verification.VERIFIED
    verified_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.OWNER


def member_of(organisation: Organisation, role: str = Membership.Role.OWNER, **user_kwargs) -> User:
    user = UserFactory(**user_kwargs)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def bureau_officer(**user_kwargs) -> User:
    bureau = OrganisationFactory(kind=Organisation.Kind.BUREAU)
    return member_of(bureau, **user_kwargs)


class TechnologyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technology
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    region = factory.SelfAttribute("organisation.region")
    title = factory.Sequence(lambda n: f"高原青稞深加工技术{n}")
    summary = "以青稞为原料的全谷物食品加工工艺,保留β-葡聚糖。"
    description = "本成果针对高原青稞加工损耗大、附加值低的问题,开发了低温研磨与挤压膨化工艺。"
    field = Field.AGRICULTURE
    maturity = Maturity.PILOT
    trl = 6
    price_kind = "fixed"
    price_cny = Decimal("500000.00")
    status = ListingStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def transfer_modes(obj, create, extracted, **kwargs):
        if create:
            obj.transfer_modes.set(TransferMode.objects.filter(code__in=extracted or ["transfer", "license"]))

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create:
            obj.tags.set(Tag.objects.filter(code__in=extracted or ["agri_pastoral"]))


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.ENTERPRISE)
    region = factory.SelfAttribute("organisation.region")
    title = factory.Sequence(lambda n: f"牦牛肉冷链保鲜需求{n}")
    description = "我们是堆龙德庆区的牦牛肉加工厂,夏天运到内地经常变质,想找冷链保鲜的办法。"
    field = Field.AGRICULTURE
    budget_cny = Decimal("300000.00")
    county = County.DUILONGDEQING
    min_maturity = Maturity.PILOT
    deadline = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=90))
    status = ListingStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def desired_modes(obj, create, extracted, **kwargs):
        if create:
            obj.desired_modes.set(TransferMode.objects.filter(code__in=extracted or ["transfer"]))

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create:
            obj.tags.set(Tag.objects.filter(code__in=extracted or ["agri_pastoral"]))
