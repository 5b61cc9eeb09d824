"""Bulk import: formats, vocabularies, all-or-nothing validation with spreadsheet row numbers, the command."""

import csv
import datetime
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from listings.importer import import_listings, parse_price, template_csv
from listings.models import IPRecord, ListingStatus, Need, Technology
from listings.patents import make_patent_number
from tests.factories import OrganisationFactory, TechnologyFactory

pytestmark = pytest.mark.django_db

PATENT = make_patent_number("201710601862")  # ZL201710601862.3
HEADERS = ["title", "summary", "description", "field", "tags", "maturity", "trl", "transfer_modes", "price_cny"]
HEADERS += ["patent"]


def tech_row(i: int = 1, **changes) -> dict:
    row = {
        "title": f"高原光伏组件防积雪涂层{i}",
        "summary": "降低积雪遮挡损失的疏水涂层",
        "description": "适用于海拔4000米以上光伏电站,冬季发电量提升8%。",
        "field": "energy",
        "tags": "clean_energy",
        "maturity": "pilot",
        "trl": "6",
        "transfer_modes": "license",
        "price_cny": "500000",
        "patent": PATENT,
    }
    row.update(changes)
    return row


def csv_bytes(rows: list[dict], headers: list[str] | None = None, encoding: str = "utf-8-sig") -> bytes:
    headers = headers or list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def future(days: int = 60) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


# ------------------------------------------------------------------ formats


def test_a_csv_of_technologies_becomes_drafts_with_tags_modes_and_patents(university, seller):
    data = csv_bytes([tech_row(1), tech_row(2, tags="clean_energy;ecology", transfer_modes="license,transfer")])

    result = import_listings(data, name="t.csv", organisation=university, by=seller)

    assert result.ok, [str(e) for e in result.errors]
    assert (result.kind, result.total_rows, result.created) == ("technology", 2, 2)
    first, second = Technology.objects.order_by("title")
    assert first.status == ListingStatus.DRAFT and first.region == "tibet"
    assert first.organisation == university and first.created_by == seller
    assert (first.price_kind, first.price_cny, first.trl, first.maturity) == ("fixed", Decimal("500000.00"), 6, "pilot")
    assert {t.code for t in second.tags.all()} == {"clean_energy", "ecology"}
    assert {m.code for m in second.transfer_modes.all()} == {"license", "transfer"}
    assert [(ip.kind, ip.number) for ip in first.ip_records.all()] == [("invention", "ZL201710601862.3")]


def test_chinese_headers_and_labels_map_to_codes(university):
    headers = ["标题", "简介", "详细描述", "技术领域", "标签", "TRL", "转化方式", "价格(元)", "专利号", "关键词"]
    utility = make_patent_number("201920123456")
    row = ["青稞β-葡聚糖提取", "高纯度提取工艺", "适用于青稞深加工企业。", "生物、医药和医疗器械"]
    row += ["净土健康、农牧业", "8", "技术许可;作价入股", "30-50万", f"{PATENT}、{utility}", "青稞"]
    data = csv_bytes([dict(zip(headers, row, strict=True))], headers)

    result = import_listings(data, name="成果.csv", organisation=university)

    assert result.ok, [str(e) for e in result.errors]
    tech = Technology.objects.get()
    assert tech.field == "biomed"
    assert tech.maturity == "industrial"  # derived from TRL 8
    assert {t.code for t in tech.tags.all()} == {"health", "agri_pastoral"}
    assert {m.code for m in tech.transfer_modes.all()} == {"license", "equity"}
    assert (tech.price_kind, tech.price_cny, tech.price_max_cny) == ("range", Decimal("300000"), Decimal("500000"))
    assert sorted(ip.kind for ip in tech.ip_records.all()) == ["invention", "utility"]
    assert tech.keywords == "青稞"


def test_a_gb18030_csv_as_chinese_excel_saves_it(university):
    data = csv_bytes([tech_row(field="新能源与高效节能", tags="清洁能源", maturity="中试")], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = import_listings(data, name="excel.csv", organisation=university)

    assert result.ok, [str(e) for e in result.errors]
    tech = Technology.objects.get()
    assert tech.title == "高原光伏组件防积雪涂层1" and tech.field == "energy"


def test_an_xlsx_first_sheet_with_number_and_date_cells(enterprise):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["标题", "描述", "技术领域", "标签", "预算", "县区", "转化方式", "最低成熟度", "截止日期"])
    deadline = datetime.datetime.combine(future(30), datetime.time())
    sheet.append(["牦牛肉冷链保鲜", "夏季运往内地易变质,需冷链方案。", "农业", "农牧业", 300000, "堆龙德庆区"])
    for col, value in zip("GHI", ["转让", "中试", deadline], strict=True):
        sheet[f"{col}2"] = value
    book.create_sheet("说明").append(["这张表不会被读取"])
    buffer = io.BytesIO()
    book.save(buffer)

    result = import_listings(buffer.getvalue(), name="needs.xlsx", organisation=enterprise)

    assert result.ok, [str(e) for e in result.errors]
    assert result.kind == "need"
    need = Need.objects.get()
    assert (need.budget_cny, need.county, need.min_maturity) == (Decimal("300000"), "duilongdeqing", "pilot")
    assert need.deadline == future(30) and need.status == ListingStatus.DRAFT
    assert [m.code for m in need.desired_modes.all()] == ["transfer"]


def test_json_lines_accept_lists_and_numbers(university):
    lines = [
        json.dumps({**tech_row(1), "tags": ["净土健康", "ecology"], "trl": 7, "price_cny": 1200000}),
        "",
        json.dumps({**tech_row(2), "price_cny": "面议", "patent": []}, ensure_ascii=False),
    ]
    data = "\n".join(lines).encode()

    result = import_listings(data, name="t.jsonl", organisation=university)

    assert result.ok, [str(e) for e in result.errors]
    one, two = Technology.objects.order_by("title")
    assert {t.code for t in one.tags.all()} == {"health", "ecology"}
    assert (one.trl, one.price_cny) == (7, Decimal("1200000"))
    assert two.price_kind == "negotiable" and two.price_cny is None
    assert not two.ip_records.exists()


def test_json_lines_errors_carry_the_line_number(university):
    good, bad = json.dumps(tech_row(2)), json.dumps({**tech_row(3), "trl": 12})
    data = b'{"title": "x"\n' + f"{good}\n{bad}".encode()

    result = import_listings(data, name="t.jsonl", organisation=university)

    assert [(e.row, e.column) for e in result.errors] == [(1, ""), (3, "trl")]
    assert not Technology.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("面议", ("negotiable", None, None)),
        ("", ("negotiable", None, None)),
        ("500000", ("fixed", Decimal("500000"), None)),
        ("50万", ("fixed", Decimal("500000"), None)),
        ("50万元", ("fixed", Decimal("500000"), None)),
        ("¥1,200,000", ("fixed", Decimal("1200000"), None)),
        ("1.5亿", ("fixed", Decimal("150000000"), None)),
        ("30-50万", ("range", Decimal("300000"), Decimal("500000"))),
        ("30万~50万", ("range", Decimal("300000"), Decimal("500000"))),
        ("300000~500000", ("range", Decimal("300000"), Decimal("500000"))),
        (Decimal("99.5"), ("fixed", Decimal("99.50"), None)),
    ],
)
def test_prices_people_type(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["很贵", "-5", "0", "50-30万", "12.345", "30-50-70万", "五十万"])
def test_prices_that_are_refused(text):
    with pytest.raises(ValueError, match="价格"):
        parse_price(text)


@pytest.mark.parametrize("deadline_format", ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y/%-m/%-d"])
def test_need_deadlines_in_the_usual_formats(enterprise, deadline_format):
    row = {
        "title": "高原温室智能控制",
        "description": "需要适应高海拔的温室环境控制方案。",
        "field": "农业",
        "county": "城关区",
        "deadline": future(45).strftime(deadline_format),
        "budget_cny": "面议",
    }

    result = import_listings(csv_bytes([row]), name="n.csv", organisation=enterprise)

    assert result.ok, [str(e) for e in result.errors]
    need = Need.objects.get()
    assert need.deadline == future(45) and need.budget_cny is None and need.county == "chengguan"


# ------------------------------------------------------------------ all or nothing


def test_every_bad_row_is_listed_with_its_spreadsheet_row_and_nothing_is_saved(university):
    existing = TechnologyFactory(organisation=university)
    rows = [tech_row(i) for i in range(1, 51)]  # data rows are spreadsheet rows 2…51
    rows[1]["price_cny"] = "很贵"  # row 3
    rows[3]["patent"] = "ZL201710601862.4"  # row 5: wrong check digit
    rows[4]["trl"] = "2"  # row 6: 中试 is TRL 6-7
    rows[6]["title"] = ""  # row 8
    rows[6]["field"] = "量子计算"  # row 8, a second problem in the same row
    rows[49]["transfer_modes"] = "赠送"  # row 51: the last row
    before = (Technology.objects.count(), IPRecord.objects.count())

    result = import_listings(csv_bytes(rows), name="t.csv", organisation=university)

    assert [(e.row, e.column) for e in result.errors] == [
        (3, "price_cny"),
        (5, "patent"),
        (6, "trl"),
        (8, "field"),
        (8, "title"),
        (51, "transfer_modes"),
    ]
    by_row = {(e.row, e.column): str(e) for e in result.errors}
    assert by_row[(3, "price_cny")].startswith("第3行 · 列 price_cny · 价格格式不正确")
    assert "校验位" in by_row[(5, "patent")]
    assert "TRL 2" in by_row[(6, "trl")]
    assert "赠送" in by_row[(51, "transfer_modes")]
    assert result.created == 0
    assert (Technology.objects.count(), IPRecord.objects.count()) == before
    assert list(Technology.objects.all()) == [existing]


def test_row_numbers_follow_the_spreadsheet_across_blank_rows_and_multiline_cells(university):
    rows = [tech_row(1, description="第一行\n第二行\n第三行"), {}, tech_row(3, trl="十")]
    data = csv_bytes(rows, HEADERS)

    result = import_listings(data, name="t.csv", organisation=university)

    assert [(e.row, e.column) for e in result.errors] == [(4, "trl")]
    assert result.total_rows == 2


def test_a_need_with_a_past_deadline_is_a_row_error(enterprise):
    past = timezone.localdate() - datetime.timedelta(days=1)
    row = {"标题": "需求", "描述": "描述", "技术领域": "农业", "县区": "达孜", "截止日期": past.isoformat()}

    result = import_listings(csv_bytes([row]), name="n.csv", organisation=enterprise)

    assert [(e.row, e.column) for e in result.errors] == [(2, "deadline")]
    assert "已过" in result.errors[0].message
    assert not Need.objects.exists()


def test_dry_run_validates_everything_and_saves_nothing(university):
    result = import_listings(csv_bytes([tech_row(1), tech_row(2)]), organisation=university, dry_run=True)

    assert result.ok and result.total_rows == 2 and result.created == 0
    assert not Technology.objects.exists()


def test_progress_is_reported_up_to_the_total(university):
    calls = []
    rows = [tech_row(i) for i in range(450)]

    import_listings(csv_bytes(rows), organisation=university, progress=lambda done, total: calls.append((done, total)))

    assert calls[0] == (0, 450) and calls[-1] == (450, 450)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert (200, 450) in calls


def test_two_thousand_rows_in_one_go(university):
    rows = [tech_row(i, patent=make_patent_number(f"2018{1 + i % 2}{i:07d}")) for i in range(2000)]

    result = import_listings(csv_bytes(rows), name="big.csv", organisation=university)

    assert result.ok, [str(e) for e in result.errors[:5]]
    assert Technology.objects.count() == 2000 and IPRecord.objects.count() == 2000
    assert Technology.tags.through.objects.count() == 2000
    assert Technology.objects.filter(status=ListingStatus.DRAFT, organisation=university).count() == 2000


# ------------------------------------------------------------------ organisations


def test_the_organisation_can_come_from_a_column_by_name_or_credit_code(university, enterprise):
    aid = OrganisationFactory(name="北京援藏合作单位", region="beijing", verification="pending")
    rows = [tech_row(1, org=university.name), tech_row(2, org=aid.credit_code.lower())]

    result = import_listings(csv_bytes(rows), name="t.csv")

    assert result.ok, [str(e) for e in result.errors]
    one, two = Technology.objects.order_by("title")
    assert one.organisation == university and one.region == "tibet"
    assert two.organisation == aid and two.region == "beijing"  # unverified organisations import drafts too


def test_an_unknown_organisation_is_a_row_error(university):
    rows = [tech_row(1, org=university.name), tech_row(2, org="不存在的大学")]

    result = import_listings(csv_bytes(rows))

    assert [(e.row, e.column) for e in result.errors] == [(3, "org")]
    assert "不存在的大学" in result.errors[0].message
    assert not Technology.objects.exists()


def test_the_page_import_cannot_write_into_another_organisation(university, enterprise):
    rows = [tech_row(1, org=university.name), tech_row(2, org=enterprise.name), tech_row(3)]

    result = import_listings(csv_bytes(rows), organisation=university, restrict_to_organisation=True)

    assert [(e.row, e.column) for e in result.errors] == [(3, "org")]
    assert not Technology.objects.exists()


def test_without_any_organisation_the_file_is_refused(db):
    result = import_listings(csv_bytes([tech_row()]))

    assert len(result.errors) == 1 and result.errors[0].row is None
    assert "机构" in result.errors[0].message


# ------------------------------------------------------------------ whole-file problems


def test_missing_required_columns_are_named_in_one_error(university):
    data = csv_bytes([{"title": "x", "summary": "y", "price_cny": "1"}])

    result = import_listings(data, kind="technology", organisation=university)

    assert len(result.errors) == 1
    message = result.errors[0].message
    assert "缺少必填列" in message
    assert all(col in message for col in ("description", "field", "trl", "transfer_modes"))


def test_unknown_columns_are_a_warning_only(university):
    data = csv_bytes([{**tech_row(), "备注": "内部使用"}])

    result = import_listings(data, organisation=university)

    assert result.ok and result.created == 1
    assert any("备注" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "t.csv", "空"),
        (b"\xef\xbb\xbf\r\n\r\n", "t.csv", "空"),
        (",".join(HEADERS).encode() + b"\r\n", "t.csv", "只有表头"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", ".xls"),
        (b"not a zip", "t.xlsx", "Excel"),
        (b'[{"title": "x"}]', "t.json", "JSON Lines"),
    ],
)
def test_empty_and_unreadable_files_give_one_clear_error(university, data, name, message):
    result = import_listings(data, name=name, organisation=university)

    assert len(result.errors) == 1 and message in result.errors[0].message
    assert not Technology.objects.exists()


def test_the_kind_must_be_given_when_the_columns_do_not_tell(university):
    data = csv_bytes([{"title": "x", "description": "y", "field": "农业"}])

    result = import_listings(data, organisation=university)

    assert "无法从列名判断" in result.errors[0].message


def test_oversize_files_and_too_many_rows_are_refused(university, settings):
    settings.IMPORT_MAX_BYTES = 1024
    data = csv_bytes([tech_row(i) for i in range(20)])

    assert "文件过大" in import_listings(data, organisation=university).errors[0].message

    settings.IMPORT_MAX_BYTES = 10 * 1024 * 1024
    result = import_listings(data, organisation=university, max_rows=10)
    assert "数据行过多" in result.errors[0].message and "20" in result.errors[0].message
    assert not Technology.objects.exists()


@pytest.mark.parametrize("kind", ["technology", "need"])
def test_the_downloadable_templates_import_as_they_are(university, kind):
    result = import_listings(template_csv(kind), name=f"{kind}.csv", organisation=university)

    assert result.ok, [str(e) for e in result.errors]
    assert result.kind == kind and result.created == 1


# ------------------------------------------------------------------ the command


def test_the_command_imports_and_prints_a_summary(university, tmp_path):
    path = tmp_path / "成果.csv"
    path.write_bytes(csv_bytes([tech_row(1), tech_row(2)]))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_listings", str(path), "--org", university.credit_code, stdout=out, stderr=err)

    assert Technology.objects.filter(organisation=university, created_by=None).count() == 2
    assert "新建 2 条科技成果" in out.getvalue()


@pytest.mark.parametrize("org_ref", ["name", "pk"])
def test_the_command_finds_the_organisation_by_name_or_id(university, tmp_path, org_ref):
    path = tmp_path / "t.csv"
    path.write_bytes(csv_bytes([tech_row()]))

    call_command("import_listings", str(path), "--org", str(getattr(university, org_ref)), stdout=io.StringIO())

    assert Technology.objects.get().organisation == university


def test_the_command_fails_with_the_report_and_saves_nothing(university, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(csv_bytes([tech_row(1), tech_row(2, price_cny="很贵"), tech_row(3, field="")]))
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 处错误"):
        call_command("import_listings", str(path), "--org", str(university.pk), stdout=io.StringIO(), stderr=err)

    report = err.getvalue()
    assert "第3行 · 列 price_cny · 价格格式不正确" in report
    assert "第4行 · 列 field" in report
    assert not Technology.objects.exists()


def test_the_command_dry_run_saves_nothing(university, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(csv_bytes([tech_row(1), tech_row(2)]))
    out = io.StringIO()

    call_command("import_listings", str(path), "--org", str(university.pk), "--dry-run", stdout=out)

    assert "校验通过:2 条" in out.getvalue()
    assert not Technology.objects.exists()


def test_the_command_refuses_an_unknown_org_and_a_missing_file(university, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(csv_bytes([tech_row()]))
    with pytest.raises(CommandError, match="找不到机构"):
        call_command("import_listings", str(path), "--org", "没有这个机构")
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("import_listings", str(tmp_path / "missing.csv"), "--org", str(university.pk))
    assert not Technology.objects.exists()


def test_the_command_takes_the_kind_when_asked(enterprise, tmp_path):
    path = tmp_path / "n.jsonl"
    need = {"title": "需求", "description": "描述", "field": "agriculture", "county": "dazi"}
    path.write_text(json.dumps({**need, "deadline": future().isoformat()}, ensure_ascii=False), encoding="utf-8")

    call_command("import_listings", str(path), "--kind", "need", "--org", enterprise.name, stdout=io.StringIO())

    assert Need.objects.get().county == "dazi"


# ------------------------------------------------------------------ odd input never crashes


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"title": "x" * 121}, "title"),
        ({"price_cny": "1" * 40}, "price_cny"),
        ({"price_cny": "99999999999999万"}, "price_cny"),
        ({"trl": "6.5"}, "trl"),
        ({"title": "含有\x00空字符"}, "title"),
        ({"maturity": "很成熟"}, "maturity"),
        ({"patent": "ZL2017"}, "patent"),
    ],
)
def test_odd_values_are_row_errors_not_crashes(university, changes, column):
    result = import_listings(csv_bytes([tech_row(1), tech_row(2, **changes)]), organisation=university)

    assert [(e.row, e.column) for e in result.errors] == [(3, column)]
    assert not Technology.objects.exists()


def test_odd_json_values_are_row_errors(university):
    lines = [
        {**tech_row(1), "trl": True},
        {**tech_row(2), "price_cny": 1e30},
        {**tech_row(3), "tags": {"a": 1}},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode() + b'\n{"title": "\\ud800"}'

    result = import_listings(data, name="x.jsonl", organisation=university)

    assert [(e.row, e.column) for e in result.errors] == [(1, "trl"), (2, "price_cny"), (3, "tags"), (4, "")]
    assert not Technology.objects.exists()


def test_excel_unicode_text_is_utf16_and_tab_separated(university):
    text = "\t".join(HEADERS) + "\r\n" + "\t".join(tech_row().values()) + "\r\n"

    result = import_listings(text.encode("utf-16"), name="成果.txt", organisation=university)

    assert result.ok, [str(e) for e in result.errors]
    assert Technology.objects.get().title == "高原光伏组件防积雪涂层1"
