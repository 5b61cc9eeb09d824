"""Controlled vocabularies of the national technology-market statistics and of Lhasa."""

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Field(models.TextChoices):
    """The 11 technical fields of the national technology-market statistics."""

    ELECTRONICS = "electronics", _("电子信息")
    MANUFACTURING = "manufacturing", _("先进制造")
    AEROSPACE = "aerospace", _("航空航天")
    TRANSPORT = "transport", _("现代交通")
    AGRICULTURE = "agriculture", _("农业")
    MATERIALS = "materials", _("新材料")
    ENERGY = "energy", _("新能源与高效节能")
    ENVIRONMENT = "environment", _("环境保护与资源综合利用")
    BIOMED = "biomed", _("生物、医药和医疗器械")
    URBAN = "urban", _("城市建设与社会发展")
    NUCLEAR = "nuclear", _("核应用")


class TagCode(models.TextChoices):
    """Lhasa's featured-industry tags."""

    HEALTH = "health", _("净土健康")
    TOURISM = "tourism", _("文化旅游")
    CLEAN_ENERGY = "clean_energy", _("清洁能源")
    ECOLOGY = "ecology", _("生态环保")
    AGRI_PASTORAL = "agri_pastoral", _("农牧业")
    DIGITAL = "digital", _("信息化")
    LIVELIHOOD = "livelihood", _("民生")


class ModeCode(models.TextChoices):
    """Transfer modes (促进科技成果转化法 art. 16)."""

    TRANSFER = "transfer", _("转让")
    LICENSE = "license", _("许可")
    EQUITY = "equity", _("作价入股")
    CO_DEVELOP = "co_develop", _("合作开发")
    SERVICE = "service", _("技术服务")
    CONSULTING = "consulting", _("技术咨询")


class Maturity(models.TextChoices):
    LAB = "lab", _("实验室")
    SMALL_PILOT = "small_pilot", _("小试")
    PILOT = "pilot", _("中试")
    INDUSTRIAL = "industrial", _("产业化")


# GB/T 22900: the TRL band of each stage.
MATURITY_TRL = {
    Maturity.LAB: (1, 3),
    Maturity.SMALL_PILOT: (4, 5),
    Maturity.PILOT: (6, 7),
    Maturity.INDUSTRIAL: (8, 9),
}
MATURITY_ORDER = [Maturity.LAB, Maturity.SMALL_PILOT, Maturity.PILOT, Maturity.INDUSTRIAL]


def maturity_for_trl(trl: int) -> str:
    for stage, (low, high) in MATURITY_TRL.items():
        if low <= trl <= high:
            return stage
    raise ValueError(trl)


def maturity_rank(stage: str) -> int:
    return MATURITY_ORDER.index(stage)


class PriceKind(models.TextChoices):
    FIXED = "fixed", _("固定价格")
    RANGE = "range", _("价格区间")
    NEGOTIABLE = "negotiable", _("面议")


class IPKind(models.TextChoices):
    INVENTION = "invention", _("发明专利")
    UTILITY = "utility", _("实用新型专利")
    DESIGN = "design", _("外观设计专利")
    SOFTWARE = "software", _("软件著作权")
    IC_LAYOUT = "ic_layout", _("集成电路布图设计")
    PLANT_VARIETY = "plant_variety", _("植物新品种权")
    BIOMED_VARIETY = "biomed_variety", _("生物医药新品种")
    KNOW_HOW = "know_how", _("技术秘密")


class County(models.TextChoices):
    """The eight counties/districts of Lhasa and its parks."""

    CHENGGUAN = "chengguan", _("城关区")
    DUILONGDEQING = "duilongdeqing", _("堆龙德庆区")
    DAZI = "dazi", _("达孜区")
    LINZHOU = "linzhou", _("林周县")
    DANGXIONG = "dangxiong", _("当雄县")
    NIMU = "nimu", _("尼木县")
    QUSHUI = "qushui", _("曲水县")
    MOZHUGONGKA = "mozhugongka", _("墨竹工卡县")
    HIGH_TECH_ZONE = "high_tech_zone", _("高新区")
    ECON_DEV_ZONE = "econ_dev_zone", _("经开区")
    CULTURE_PARK = "culture_park", _("文创园")
    AIRPORT_ZONE = "airport_zone", _("空港新区")
    DAZI_INDUSTRIAL = "dazi_industrial", _("达孜工业园区")


def label_to_code(choices: type[models.TextChoices], text: str, aliases: dict | None = None) -> str | None:
    """Map a code or a Chinese/English label (as users type it in spreadsheets) to a code."""
    text = (text or "").strip()
    if not text:
        return None
    for value, label in choices.choices:
        if text.lower() == value or text == str(label):
            return value
    if aliases and text in aliases:
        return aliases[text]
    # A label in another UI language: Chinese typed on the English pages, or the reverse.
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for value, label in choices.choices:
                if text == str(label):
                    return value
    return None


MODE_ALIASES = {
    "技术转让": ModeCode.TRANSFER,
    "技术许可": ModeCode.LICENSE,
    "许可使用": ModeCode.LICENSE,
    "作价投资": ModeCode.EQUITY,
    "技术入股": ModeCode.EQUITY,
    "技术开发": ModeCode.CO_DEVELOP,
    "合作研发": ModeCode.CO_DEVELOP,
    "服务": ModeCode.SERVICE,
    "咨询": ModeCode.CONSULTING,
}
FIELD_ALIASES = {
    "生物医药": Field.BIOMED,
    "生物、医药": Field.BIOMED,
    "医药": Field.BIOMED,
    "新能源": Field.ENERGY,
    "环境保护": Field.ENVIRONMENT,
    "环保": Field.ENVIRONMENT,
    "农业": Field.AGRICULTURE,
    "城市建设": Field.URBAN,
}
MATURITY_ALIASES = {
    "实验室阶段": Maturity.LAB,
    "小试阶段": Maturity.SMALL_PILOT,
    "中试阶段": Maturity.PILOT,
    "产业化阶段": Maturity.INDUSTRIAL,
    "已产业化": Maturity.INDUSTRIAL,
}
