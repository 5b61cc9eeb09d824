"""Vocabularies of technology-contract registration (技术合同认定登记) and the GB/T 2260 region codes."""

import re

from django.db import models
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from listings.vocab import County


class ContractType(models.TextChoices):
    DEV_COMMISSIONED = "dev_commissioned", _("技术开发(委托)")
    DEV_COOPERATIVE = "dev_cooperative", _("技术开发(合作)")
    TRANSFER = "transfer", _("技术转让")
    LICENSE = "license", _("技术许可")
    CONSULTING = "consulting", _("技术咨询")
    SERVICE = "service", _("技术服务")


class ContractIPKind(models.TextChoices):
    PATENT = "patent", _("专利权")
    SOFTWARE = "software", _("软件著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计")
    PLANT_VARIETY = "plant_variety", _("植物新品种权")
    BIOMED_VARIETY = "biomed_variety", _("生物医药新品种")
    KNOW_HOW = "know_how", _("技术秘密")
    NONE = "none", _("无")


class PaymentMode(models.TextChoices):
    LUMP_SUM = "lump_sum", _("一次总付")
    INSTALMENTS = "instalments", _("分期支付")
    ROYALTY = "royalty", _("提成支付")


class EntityKind(models.TextChoices):
    """Legal-entity kinds of contract parties, as the registration statistics group them."""

    ENTERPRISE = "enterprise", _("企业法人")
    UNIVERSITY = "university", _("高等院校")
    INSTITUTE = "institute", _("科研机构")
    OTHER_INSTITUTION = "other_institution", _("其他事业法人")
    GOVERNMENT = "government", _("机关法人")
    SOCIAL = "social", _("社团法人")
    INDIVIDUAL = "individual", _("自然人")
    OTHER = "other", _("其他组织")


# Sellers of these kinds are state-funded: their agreed price is published (公示) before registration.
STATE_FUNDED_ENTITY_KINDS = (EntityKind.UNIVERSITY, EntityKind.INSTITUTE)

# Organisation.Kind on the platform → the party's legal-entity kind.
ORGANISATION_ENTITY_KIND = {
    "university": EntityKind.UNIVERSITY,
    "institute": EntityKind.INSTITUTE,
    "aid_partner": EntityKind.OTHER_INSTITUTION,
    "enterprise": EntityKind.ENTERPRISE,
    "agency": EntityKind.ENTERPRISE,
    "bureau": EntityKind.GOVERNMENT,
}


class SellerRegion(models.TextChoices):
    """The seller's origin as the bureau reports it: the two aid provinces apart."""

    BEIJING = "beijing", _("北京(援藏)")
    JIANGSU = "jiangsu", _("江苏(援藏)")
    TIBET = "tibet", _("西藏")
    OTHER = "other", _("其他省份")


# GB/T 2260 province-level codes.
PROVINCES = {
    "110000": _("北京市"),
    "120000": _("天津市"),
    "130000": _("河北省"),
    "140000": _("山西省"),
    "150000": _("内蒙古自治区"),
    "210000": _("辽宁省"),
    "220000": _("吉林省"),
    "230000": _("黑龙江省"),
    "310000": _("上海市"),
    "320000": _("江苏省"),
    "330000": _("浙江省"),
    "340000": _("安徽省"),
    "350000": _("福建省"),
    "360000": _("江西省"),
    "370000": _("山东省"),
    "410000": _("河南省"),
    "420000": _("湖北省"),
    "430000": _("湖南省"),
    "440000": _("广东省"),
    "450000": _("广西壮族自治区"),
    "460000": _("海南省"),
    "500000": _("重庆市"),
    "510000": _("四川省"),
    "520000": _("贵州省"),
    "530000": _("云南省"),
    "540000": _("西藏自治区"),
    "610000": _("陕西省"),
    "620000": _("甘肃省"),
    "630000": _("青海省"),
    "640000": _("宁夏回族自治区"),
    "650000": _("新疆维吾尔自治区"),
    "710000": _("台湾省"),
    "810000": _("香港特别行政区"),
    "820000": _("澳门特别行政区"),
}
# Lhasa and its districts and counties (GB/T 2260), with the county/park they belong to.
LHASA_DIVISIONS = {
    "540100": (_("拉萨市"), ""),
    "540102": (_("拉萨市城关区"), County.CHENGGUAN),
    "540103": (_("拉萨市堆龙德庆区"), County.DUILONGDEQING),
    "540104": (_("拉萨市达孜区"), County.DAZI),
    "540121": (_("拉萨市林周县"), County.LINZHOU),
    "540122": (_("拉萨市当雄县"), County.DANGXIONG),
    "540123": (_("拉萨市尼木县"), County.NIMU),
    "540124": (_("拉萨市曲水县"), County.QUSHUI),
    "540127": (_("拉萨市墨竹工卡县"), County.MOZHUGONGKA),
}
BEIJING_PREFIX, JIANGSU_PREFIX, TIBET_PREFIX = "11", "32", "54"
ORGANISATION_REGION_CODE = {"beijing": "110000", "jiangsu": "320000", "tibet": "540000"}
_SIX_DIGITS = re.compile(r"^\d{6}$")


def region_code_error(code: str) -> str | None:
    """Why a GB/T 2260 code is not acceptable, or None: six digits, a known province."""
    code = (code or "").strip()
    if not _SIX_DIGITS.match(code):
        return _g("地区代码应为 6 位数字(GB/T 2260,如 540100 拉萨市、110000 北京市、320000 江苏省)")
    if code[:2] + "0000" not in PROVINCES:
        return _g("地区代码 %(code)s 的前两位不是有效的省级代码") % {"code": code}
    return None


def region_name(code: str) -> str:
    if code in LHASA_DIVISIONS:
        return str(LHASA_DIVISIONS[code][0])
    province = PROVINCES.get((code or "")[:2] + "0000")
    return str(province) if province else code


def seller_region(code: str) -> str:
    prefix = (code or "")[:2]
    if prefix == BEIJING_PREFIX:
        return SellerRegion.BEIJING
    if prefix == JIANGSU_PREFIX:
        return SellerRegion.JIANGSU
    if prefix == TIBET_PREFIX:
        return SellerRegion.TIBET
    return SellerRegion.OTHER


def county_of_division(code: str) -> str:
    return LHASA_DIVISIONS.get(code, ("", ""))[1]


def region_code_of_credit_code(credit_code: str) -> str:
    """Characters 3-8 of a 统一社会信用代码 are the registering authority's GB/T 2260 division."""
    division = (credit_code or "")[2:8]
    return division if region_code_error(division) is None else ""
