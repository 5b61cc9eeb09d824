"""English as the second language: pages switch by cookie, Accept-Language or the set_language form;
the English catalog is complete, compiled and covers the controlled vocabularies."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from listings.models import ListingStatus
from listings.vocab import County, Field, IPKind, Maturity, ModeCode, PriceKind, TagCode, label_to_code
from marketplace.accounts.creditcode import credit_code_error
from marketplace.accounts.models import Organisation
from tests.factories import OrganisationFactory, TechnologyFactory

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def technology(db):
    organisation = OrganisationFactory(name="西藏农牧科学院测试", region="tibet")
    return TechnologyFactory(
        organisation=organisation, title="青稞全谷物加工", field=Field.AGRICULTURE, maturity=Maturity.PILOT, trl=6
    )


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# ------------------------------------------------------------------ pages in each language


@pytest.mark.django_db
def test_pages_are_chinese_by_default(client, technology):
    home = _html(client.get(reverse("home")))
    assert '<html lang="zh-hans">' in home
    assert "浏览科技成果" in home and "主办:拉萨市科学技术局" in home
    assert "Browse technologies" not in home

    detail = _html(client.get(reverse("listings:technology_detail", args=[technology.pk])))
    assert "农业" in detail and "中试" in detail and "¥50 万" in detail


@pytest.mark.django_db
def test_accept_language_en_renders_the_home_page_in_english(client, technology):
    html = _html(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="en">' in html
    for text in ("Home", "Technologies", "Technology needs", "Browse technologies", "Latest technologies"):
        assert text in html
    assert "浏览科技成果" not in html and "最新科技成果" not in html
    assert "青稞全谷物加工" in html  # content stays in the language it was written in


@pytest.mark.django_db
def test_language_cookie_renders_the_technology_list_in_english(client, technology):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = _html(client.get(reverse("listings:technology_list")))
    assert '<html lang="en">' in html
    assert "Agriculture" in html and "Pilot · TRL 6" in html and "Transfer" in html
    assert "Filter technologies" in html and "All fields" in html
    assert "筛选科技成果" not in html and "全部领域" not in html
    assert ">首页<" not in html  # the Chinese nav label


@pytest.mark.django_db
def test_technology_detail_in_english_shows_english_vocabulary_and_price(client, technology):
    html = _html(client.get(reverse("listings:technology_detail", args=[technology.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    for text in ("Technical field", "Agriculture", "Maturity", "Pilot", "Transfer modes", "Licensing", "¥500,000"):
        assert text in html
    assert "技术领域" not in html and "成熟度" not in html and "万" not in html


@pytest.mark.django_db
def test_set_language_switches_to_english_and_back(client, technology):
    # given: a visitor on the Chinese home page
    assert "浏览科技成果" in _html(client.get(reverse("home")))

    # when: they press "English" in the header
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})

    # then: back on the page they came from, now in English, remembered by the cookie
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = _html(client.get(reverse("home")))
    assert "Browse technologies" in html and "浏览科技成果" not in html
    detail = _html(client.get(reverse("listings:technology_detail", args=[technology.pk])))
    assert "Agriculture" in detail

    # and back to Chinese
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    html = _html(client.get(reverse("home")))
    assert "浏览科技成果" in html and "Browse technologies" not in html


@pytest.mark.django_db
def test_language_switch_form_offers_both_languages(client):
    html = _html(client.get(reverse("home")))
    assert f'action="{reverse("set_language")}"' in html
    assert 'value="en"' in html and 'value="zh-hans"' in html
    assert "English" in html and "简体中文" in html


@pytest.mark.django_db
def test_status_and_organisation_labels_are_translated(client):
    organisation = OrganisationFactory(name="北京援藏单位测试", kind="aid_partner", region="beijing")
    draft = TechnologyFactory(organisation=organisation, status=ListingStatus.DRAFT, published_at=None)
    with translation.override("en"):
        assert draft.get_status_display() == "Draft"
        assert organisation.get_kind_display() == "Tibet-aid partner"
        assert organisation.get_region_display() == "Beijing"
        assert organisation.get_verification_display() == "Verified"


# ------------------------------------------------------------------ the catalog


def _po_entries(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags (enough for a check)."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = _unquote(line)
            if isinstance(key, tuple):
                entry["msgstr"][key[1]] += text
            else:
                entry[key] += text
        else:
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
            assert match, f"unexpected line in {path.name}: {line!r}"
            name, index, value = match.groups()
            if name == "msgstr":
                key = ("msgstr", int(index or 0))
                entry["msgstr"][key[1]] = _unquote(value)
            else:
                key = name
                entry[name] = _unquote(value)
    return entries


def _unquote(quoted: str) -> str:
    body = quoted.strip()[1:-1]
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def test_english_catalog_has_a_translation_for_every_message_and_nothing_fuzzy():
    entries = _po_entries(LOCALE_DIR / "django.po")
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == "" and "Language: en" in header["msgstr"][0]
    assert len(messages) > 400
    assert not [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    assert untranslated == []
    plural = [e for e in messages if "msgid_plural" in e]
    assert plural and all(len(e["msgstr"]) == 2 for e in plural)
    # The translation keeps the named placeholders of the source.
    for e in messages:
        wanted = sorted(re.findall(r"%\(\w+\)", e["msgid"]))
        for text in e["msgstr"].values():
            assert sorted(re.findall(r"%\(\w+\)", text)) == wanted, e["msgid"]


def test_compiled_catalog_matches_the_po_file():
    """The .mo is committed (make run does not compile): it must hold every translation of the .po."""
    with open(LOCALE_DIR / "django.mo", "rb") as mo_file:
        catalog = gettext.GNUTranslations(mo_file)._catalog
    for e in _po_entries(LOCALE_DIR / "django.po")[1:]:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            for n, text in e["msgstr"].items():
                assert catalog.get((msgid, n)) == text, e["msgid"]
        else:
            assert catalog.get(msgid) == e["msgstr"][0], f"stale .mo: run compilemessages ({e['msgid']!r})"


@pytest.mark.parametrize(
    "choices",
    [
        *(Field, TagCode, ModeCode, Maturity, PriceKind, IPKind, County, ListingStatus),
        *(Organisation.Kind, Organisation.Region, Organisation.Verification),
    ],
    ids=lambda c: c.__qualname__,
)
def test_every_vocabulary_label_has_an_english_translation(choices):
    chinese = {value: str(label) for value, label in choices.choices}
    with translation.override("en"):
        english = {value: str(label) for value, label in choices.choices}
    for value, label in english.items():
        assert label != chinese[value] and not CJK.search(label), f"{choices.__qualname__}.{value}: {label}"


def test_labels_are_understood_in_either_language():
    with translation.override("en"):
        assert label_to_code(Maturity, "中试") == Maturity.PILOT  # Chinese typed on the English pages
        assert label_to_code(ModeCode, "Equity contribution") == ModeCode.EQUITY
    with translation.override("zh-hans"):
        assert label_to_code(Maturity, "Lab-scale pilot") == Maturity.SMALL_PILOT
        assert label_to_code(Field, "农业") == Field.AGRICULTURE


def test_service_errors_follow_the_active_language():
    with translation.override("zh-hans"):
        assert credit_code_error("123") == "统一社会信用代码应为18位,当前为3位"
    with translation.override("en"):
        assert credit_code_error("123") == "The unified social credit code must have 18 characters; this one has 3"
