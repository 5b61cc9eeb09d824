"""Build the demo: organisations, people, technologies, needs, images and the printed logins.

The demo is detected by the bureau's credit code: when it is there, only the logins are checked
(they exist, belong to their organisation and have the demo password). Everything else is written in
one transaction, rows validated with full_clean and inserted with bulk_create for speed.
"""

import datetime
import random
import re
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from listings import services
from listings.models import IPRecord, ListingStatus, Need, ReviewEvent, Technology, TechnologyImage
from listings.patents import make_patent_number
from listings.vocab import Field, IPKind, PriceKind, maturity_for_trl
from marketplace.accounts.models import Membership, Organisation, User

from . import images, organisations, texts

DEMO_PASSWORD = "lhasa2026"  # noqa: S105 -- printed on purpose: the demo logins are public
SEED = 2026

RETURN_NOTES = [
    "请补充已授权专利的专利号及法律状态,目前只写了「已申请专利」。",
    "应用案例不够具体:请写明在拉萨或同类高海拔地区的试验地点、规模和数据。",
    "成熟度填写为产业化,但描述中只有实验室数据,请核实成熟度和 TRL。",
    "成果简介中含有个人手机号码,请删除后在机构联系方式中填写。",
    "定价依据不清楚:区间跨度过大,请说明价格构成或改为面议。",
]


# Titles ending like this name a material or a device (patentable as such); the others name a method.
MATERIAL_ENDINGS = ("材料", "涂层", "剂", "板", "砌块", "试纸条", "制剂", "产品", "管材", "棚膜", "缓释片")
DEVICE_ENDINGS = ("机", "设备", "装备", "系统", "平台", "引擎", "机组", "工具", "厕所", "炉灶", "网络")
METHOD_SUFFIX = re.compile(r"(关键技术|技术体系|技术服务|技术方案与实施服务|技术与工匠培训|技术|研究|工艺)$")


def patent_title(title: str, kind: str, n: int) -> str:
    """A believable patent name from the technology's title: 一种…方法 for methods, 一种…装置 for devices."""
    subject = re.sub(r"[((][^))]*[))]", "", title).split("——")[0]
    subject = METHOD_SUFFIX.sub("", subject).strip()
    if subject.endswith(MATERIAL_ENDINGS):
        if kind == IPKind.INVENTION:
            return f"{subject}的检测方法" if n else f"一种{subject}及其制备方法"
        return f"一种{subject}生产用{('成型装置', '混料装置', '检测装置')[n % 3]}"
    if subject.endswith(DEVICE_ENDINGS):
        if kind == IPKind.INVENTION:
            return f"{subject}的控制方法" if n else f"一种{subject}"
        return f"一种{subject}用{('控制装置', '支撑结构', '传感装置')[n % 3]}"
    if kind == IPKind.INVENTION:
        return f"{subject}中关键参数的确定方法" if n else f"一种{subject}方法"
    return f"一种用于{subject}的{('装置', '设备', '检测装置')[n % 3]}"


class DemoConflict(Exception):
    """Organisations of the demo exist but the demo does not: loading would collide with real data."""


@dataclass
class DemoResult:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)


def demo_exists() -> bool:
    return Organisation.objects.filter(credit_code=organisations.BUREAU.credit_code).exists()


def load_demo(*, with_images: bool = True) -> DemoResult:
    with transaction.atomic():
        created = not demo_exists()
        if created:
            _check_conflicts()
            builder = _Builder(now=timezone.now())
            builder.build(with_images=with_images)
        logins = ensure_logins()
    if created:
        services.needs_expire()
    return DemoResult(created=created, counts=demo_counts(), logins=logins)


def demo_counts() -> dict[str, int]:
    codes = [spec.credit_code for spec in organisations.ORGANISATIONS]
    orgs = Organisation.objects.filter(credit_code__in=codes)
    return {
        "organisations": orgs.count(),
        "technologies": Technology.objects.filter(organisation__in=orgs).count(),
        "needs": Need.objects.filter(organisation__in=orgs).count(),
        "images": TechnologyImage.objects.filter(technology__organisation__in=orgs).count(),
    }


def _check_conflicts() -> None:
    names = [spec.name for spec in organisations.ORGANISATIONS]
    codes = [spec.credit_code for spec in organisations.ORGANISATIONS]
    taken = Organisation.objects.filter(name__in=names) | Organisation.objects.filter(credit_code__in=codes)
    if taken.exists():
        listed = "、".join(taken.values_list("name", flat=True)[:5])
        raise DemoConflict(
            f"数据库中已有与演示数据同名或同代码的机构({listed}),但没有演示数据标记;请使用空数据库加载演示数据。"
        )


# ---------------------------------------------------------------- logins


def ensure_logins() -> list[tuple[str, str, str, str]]:
    """Every printed login exists, belongs to its organisation as owner, and has the demo password."""
    codes = {organisations.BY_KEY[key].credit_code: key for _, key, _ in organisations.LOGINS}
    by_key = {codes[org.credit_code]: org for org in Organisation.objects.filter(credit_code__in=codes)}
    missing = [organisations.BY_KEY[key].name for key in codes.values() if key not in by_key]
    if missing:
        raise DemoConflict(f"演示机构已被删除:{'、'.join(missing)};无法恢复演示账号,请在空数据库中重新加载演示数据。")
    rows, users = [], []
    for username, org_key, role in organisations.LOGINS:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.cn"})
        Membership.objects.update_or_create(
            user=user, organisation=by_key[org_key], defaults={"role": Membership.Role.OWNER}
        )
        users.append(user)
        rows.append((username, DEMO_PASSWORD, role, by_key[org_key].name))
    admin, _ = User.objects.get_or_create(username=organisations.SUPERUSER, defaults={"email": "admin@example.cn"})
    if not (admin.is_superuser and admin.is_staff and admin.is_active):
        admin.is_superuser = admin.is_staff = admin.is_active = True
        admin.save(update_fields=["is_superuser", "is_staff", "is_active"])
    users.append(admin)
    rows.append((admin.username, DEMO_PASSWORD, "超级管理员", "—"))
    _ensure_password(users)
    return rows


def _ensure_password(users: list[User]) -> None:
    # Hashing is deliberately slow; users sharing one stored hash are checked once.
    verdicts: dict[str, bool] = {}
    wrong = []
    for user in users:
        if user.password not in verdicts:
            verdicts[user.password] = user.is_active and user.check_password(DEMO_PASSWORD)
            user.refresh_from_db(fields=["password"])  # check_password may upgrade the hash
        if not verdicts.get(user.password, True) or not user.is_active:
            wrong.append(user)
    if wrong:
        shared = make_password(DEMO_PASSWORD)
        User.objects.filter(pk__in=[u.pk for u in wrong]).update(password=shared, is_active=True)


# ---------------------------------------------------------------- building


class _Builder:
    def __init__(self, *, now: datetime.datetime):
        self.now = now
        self.today = timezone.localdate(now)
        self.rng = random.Random(SEED)
        self.orgs: dict[str, Organisation] = {}
        self.owners: dict[str, User] = {}
        self.patent_serial = 0

    def build(self, *, with_images: bool) -> None:
        self._people()
        self._organisations()
        technologies = self._technologies(texts.technology_specs())
        self._needs(texts.need_specs())
        if with_images:
            self._images(technologies)

    # -- people and organisations

    def _people(self) -> None:
        shared = make_password(DEMO_PASSWORD)
        login_of = {org_key: username for username, org_key, _ in organisations.LOGINS}
        users = []
        for i, spec in enumerate(organisations.ORGANISATIONS):
            username = login_of.get(spec.key, spec.key)
            person = organisations.PEOPLE[i % len(organisations.PEOPLE)]
            user = User.objects.filter(username=username).first() or User(
                username=username,
                email=f"{username}@example.cn",
                display_name=person,
                phone=spec.phone,
                password=shared,
                date_joined=self.now - datetime.timedelta(days=560),
            )
            if user.pk is None:
                user.full_clean()
                users.append(user)
            self.owners[spec.key] = user
        User.objects.bulk_create(users)

    def _organisations(self) -> None:
        bureau_user = self.owners[organisations.BUREAU.key]
        rows = []
        for spec in organisations.ORGANISATIONS:
            verified = spec.verified
            org = Organisation(
                name=spec.name,
                kind=spec.kind,
                region=spec.region,
                credit_code=spec.credit_code,
                description=spec.description,
                contact_phone=spec.phone,
                verification=Organisation.Verification.VERIFIED if verified else Organisation.Verification.PENDING,
                verified_at=self._days_ago(540, 560) if verified else None,
                verified_by=bureau_user if verified else None,
            )
            org.full_clean()
            rows.append(org)
        Organisation.objects.bulk_create(rows)
        for spec, org in zip(organisations.ORGANISATIONS, rows, strict=True):
            self.orgs[spec.key] = org
        Membership.objects.bulk_create(
            [
                Membership(user=self.owners[key], organisation=org, role=Membership.Role.OWNER)
                for key, org in self.orgs.items()
            ]
        )
        ReviewEvent.objects.bulk_create(
            [
                ReviewEvent(organisation=org, by=bureau_user, action=ReviewEvent.Action.VERIFIED, at=org.verified_at)
                for org in rows
                if org.verified_at
            ]
        )

    # -- technologies

    def _technologies(self, specs) -> list[Technology]:
        statuses = self._statuses(
            specs,
            {
                ListingStatus.PENDING: 15,
                ListingStatus.DRAFT: 10,
                ListingStatus.RETURNED: 5,
                ListingStatus.NEGOTIATING: 4,
                ListingStatus.TRANSFERRED: 3,
                ListingStatus.WITHDRAWN: 2,
            },
        )
        rows, ip_rows, events = [], [], []
        for spec, status in zip(specs, statuses, strict=True):
            low, high = spec.price
            kind = PriceKind.NEGOTIABLE if low is None else (PriceKind.RANGE if high else PriceKind.FIXED)
            tech = Technology(
                organisation=self.orgs[spec.org],
                created_by=self.owners[spec.org],
                region=self.orgs[spec.org].region,
                title=spec.title,
                summary=spec.summary,
                description=spec.description,
                benefits=spec.benefits,
                keywords=spec.keywords.replace(";", "、"),
                field=spec.field,
                maturity=maturity_for_trl(spec.trl),
                trl=spec.trl,
                price_kind=kind,
                price_cny=low,
                price_max_cny=high,
            )
            self._timeline(tech, status)
            try:
                tech.full_clean()
            except ValidationError as exc:
                raise ValidationError(f"演示成果「{spec.title}」数据有误:{exc}") from exc
            rows.append(tech)
        Technology.objects.bulk_create(rows)
        tag_links, mode_links = [], []
        for spec, tech in zip(specs, rows, strict=True):
            tag_links += [Technology.tags.through(technology_id=tech.pk, tag_id=code) for code in spec.tags]
            mode_links += [
                Technology.transfer_modes.through(technology_id=tech.pk, transfermode_id=code) for code in spec.modes
            ]
            ip_rows += self._ip_records(spec, tech)
            events += self._events(tech, need=False)
        Technology.tags.through.objects.bulk_create(tag_links)
        Technology.transfer_modes.through.objects.bulk_create(mode_links)
        for ip in ip_rows:
            ip.full_clean()
        IPRecord.objects.bulk_create(ip_rows)
        ReviewEvent.objects.bulk_create(events)
        return rows

    def _ip_records(self, spec, tech: Technology) -> list[IPRecord]:
        plan = spec.ip
        services_only = set(spec.modes) <= {"service", "consulting"}
        if plan is None:
            plan = []
            if not services_only and self.rng.random() < 0.62:
                plan.append((IPKind.INVENTION, self.rng.choice((1, 1, 2, 3))))
                if self.rng.random() < 0.4:
                    plan.append((IPKind.UTILITY, self.rng.choice((1, 2))))
            if spec.field == Field.ELECTRONICS or "信息" in spec.keywords:
                plan.append((IPKind.SOFTWARE, 1))
        records = []
        for kind, count in plan:
            for n in range(count):
                records.append(self._ip_record(kind, tech, n))
        return records

    def _ip_record(self, kind: str, tech: Technology, n: int) -> IPRecord:
        name = tech.title[:60]
        if kind in (IPKind.INVENTION, IPKind.UTILITY, IPKind.DESIGN):
            self.patent_serial += 1
            year = self.rng.randint(2015, 2024)
            type_digit = {IPKind.INVENTION: "1", IPKind.UTILITY: "2", IPKind.DESIGN: "3"}[kind]
            serial = 100000 + (self.patent_serial * 7919) % 900000
            number = make_patent_number(f"{year}{type_digit}{serial:07d}")
            return IPRecord(technology=tech, kind=kind, number=number, title=patent_title(tech.title, kind, n))
        if kind == IPKind.SOFTWARE:
            year = self.rng.randint(2018, 2025)
            number = f"{year}SR{self.rng.randint(100000, 1999999):07d}"
            return IPRecord(technology=tech, kind=kind, number=number, title=f"{name}软件 V{n + 1}.0")
        if kind == IPKind.PLANT_VARIETY:
            number = f"CNA{self.rng.randint(2016, 2023)}{self.rng.randint(1000, 9999)}.{self.rng.randint(1, 9)}"
            return IPRecord(technology=tech, kind=kind, number=number, title=name.split("及")[0][:60])
        return IPRecord(technology=tech, kind=kind, number="", title=f"{name}关键工艺参数")

    # -- needs

    def _needs(self, specs) -> None:
        statuses = self._statuses(specs, {ListingStatus.PENDING: 7, ListingStatus.NEGOTIATING: 2})
        rows, events = [], []
        for spec, status in zip(specs, statuses, strict=True):
            if spec.days < 0 and status not in (ListingStatus.DRAFT,):
                status = ListingStatus.PUBLISHED  # needs_expire marks it expired after the load
            need = Need(
                organisation=self.orgs[spec.org],
                created_by=self.owners[spec.org],
                region=self.orgs[spec.org].region,
                title=spec.title,
                description=spec.description,
                field=spec.field,
                budget_cny=spec.budget,
                county=spec.county,
                min_maturity=spec.min_maturity,
                deadline=self.today + datetime.timedelta(days=spec.days),
            )
            # Needs are recent: posted a few weeks or months before their deadline.
            self._timeline(need, status, max_age_days=150)
            if spec.days < 0:
                need.published_at = self.now + datetime.timedelta(days=spec.days - self.rng.randint(60, 150))
                need.submitted_at = need.published_at - datetime.timedelta(hours=self.rng.randint(6, 48))
                need.created_at = need.submitted_at - datetime.timedelta(days=1)
            try:
                need.full_clean()
            except ValidationError as exc:
                raise ValidationError(f"演示需求「{spec.title}」数据有误:{exc}") from exc
            rows.append(need)
        Need.objects.bulk_create(rows)
        tag_links, mode_links = [], []
        for spec, need in zip(specs, rows, strict=True):
            tag_links += [Need.tags.through(need_id=need.pk, tag_id=code) for code in spec.tags]
            mode_links += [Need.desired_modes.through(need_id=need.pk, transfermode_id=code) for code in spec.modes]
            events += self._events(need, need=True)
        Need.tags.through.objects.bulk_create(tag_links)
        Need.desired_modes.through.objects.bulk_create(mode_links)
        ReviewEvent.objects.bulk_create(events)

    # -- shared

    def _statuses(self, specs, wanted: dict[str, int]) -> list[str]:
        """Published by default; the wanted counts of other states go to listings of verified organisations;
        listings of organisations awaiting verification stay drafts."""
        statuses = [ListingStatus.PUBLISHED] * len(specs)
        eligible = []
        for i, spec in enumerate(specs):
            if self.orgs[spec.org].is_verified:
                if getattr(spec, "days", 1) >= 0:
                    eligible.append(i)
            else:
                statuses[i] = ListingStatus.DRAFT
        self.rng.shuffle(eligible)
        for status, count in wanted.items():
            for _ in range(count):
                if eligible:
                    statuses[eligible.pop()] = status
        return statuses

    def _timeline(self, listing, status: str, *, max_age_days: int = 540) -> None:
        listing.status = status
        if status == ListingStatus.DRAFT:
            listing.created_at = self._days_ago(1, 40)
            return
        if status in (ListingStatus.PENDING, ListingStatus.RETURNED):
            listing.submitted_at = self._days_ago(0, 12)
            listing.created_at = listing.submitted_at - datetime.timedelta(days=self.rng.randint(1, 20))
            if status == ListingStatus.RETURNED:
                listing.review_note = self.rng.choice(RETURN_NOTES)
            return
        listing.published_at = self._days_ago(3, max_age_days)
        listing.submitted_at = listing.published_at - datetime.timedelta(hours=self.rng.randint(6, 96))
        listing.created_at = listing.submitted_at - datetime.timedelta(days=self.rng.randint(0, 15))

    def _events(self, listing, *, need: bool) -> list[ReviewEvent]:
        target = {"need": listing} if need else {"technology": listing}
        owner, bureau = listing.created_by, self.owners[organisations.BUREAU.key]
        events = []
        if listing.submitted_at:
            events.append(ReviewEvent(action=ReviewEvent.Action.SUBMITTED, by=owner, at=listing.submitted_at, **target))
        if listing.status == ListingStatus.RETURNED:
            at = listing.submitted_at + datetime.timedelta(hours=20)
            events.append(
                ReviewEvent(
                    action=ReviewEvent.Action.RETURNED,
                    by=bureau,
                    note=listing.review_note,
                    at=min(at, self.now),
                    **target,
                )
            )
        if listing.published_at:
            events.append(ReviewEvent(action=ReviewEvent.Action.APPROVED, by=bureau, at=listing.published_at, **target))
        if listing.status == ListingStatus.WITHDRAWN:
            at = listing.published_at + (self.now - listing.published_at) / 2
            events.append(
                ReviewEvent(
                    action=ReviewEvent.Action.WITHDRAWN, by=owner, note="成果已与合作企业独家签约", at=at, **target
                )
            )
        return events

    def _days_ago(self, low: int, high: int) -> datetime.datetime:
        seconds = self.rng.randint(low * 86400, high * 86400)
        return self.now - datetime.timedelta(seconds=seconds)

    # -- images

    def _images(self, technologies: list[Technology]) -> None:
        public = [t for t in technologies if t.status == ListingStatus.PUBLISHED]
        chosen = self.rng.sample(public, min(25, len(public)))
        for n, tech in enumerate(chosen):
            for position in range(1 + n % 2):
                data = images.draw(field=tech.field, seed=tech.pk * 10 + position)
                upload = SimpleUploadedFile(f"demo_{tech.pk}_{position}.jpg", data, content_type="image/jpeg")
                caption = images.caption(tech.field, position)
                services.technology_add_image(technology=tech, upload=upload, by=tech.created_by, caption=caption)
