"""The dashboard as tables: the page renders these, and CSV / XLSX write exactly the same cells."""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .selectors import DIMENSIONS, Dashboard, Figure, dimension_title


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    rows: list[list]


def _figure_headers(first: str) -> list[str]:
    return [first, _("合同数(项)"), _("合同成交额(元)"), _("技术交易额(元)"), _("占成交额比重(%)")]


def _figure_row(figure: Figure) -> list:
    return [figure.label, figure.count, figure.contract_amount, figure.tech_amount, figure.share]


def _party_rows(figures: list[Figure]) -> list[list]:
    return [[n, f.label, f.code, f.count, f.contract_amount, f.tech_amount] for n, f in enumerate(figures, start=1)]


def dashboard_sections(dashboard: Dashboard) -> list[Section]:
    filters = dashboard.filters
    target = dashboard.target
    summary = [
        [_("统计期间"), filters.period_label],
        [_("合同数(项)"), dashboard.total.count],
        [_("技术合同成交额(元)"), dashboard.total.contract_amount],
        [_("技术交易额(元)"), dashboard.total.tech_amount],
        [_("援藏省市(北京、江苏)成交额(元)"), dashboard.aid_total.contract_amount],
    ]
    sections = [Section("summary", _("概览"), [_("项目"), _("数值")], summary)]
    target_rows = [
        [_("年度"), target.year],
        [_("全年技术合同成交额(元)"), target.turnover],
        [_("地区生产总值 GDP(元)"), target.gdp],
        [_("目标:成交额占 GDP 比重(%)"), target.target_share],
        [_("目标成交额(元)"), target.target_amount],
        [_("实际占 GDP 比重(%)"), target.ratio],
        [_("完成目标进度(%)"), target.progress],
        [_("距目标尚差(元)"), target.missing],
    ]
    sections.append(Section("target", _("成交额占 GDP 比重目标"), [_("项目"), _("数值")], target_rows))
    for name in DIMENSIONS:
        first = _("月份") if name == "month" else dimension_title(name).removeprefix("按")
        rows = [_figure_row(f) for f in dashboard.breakdowns[name]]
        if name == "seller_region":
            rows.append(_figure_row(dashboard.aid_total))
        sections.append(Section(name, dimension_title(name), _figure_headers(first), rows))
    party_headers = [
        _("排名"),
        _("名称"),
        _("统一社会信用代码"),
        _("合同数(项)"),
        _("合同成交额(元)"),
        _("技术交易额(元)"),
    ]
    if dashboard.top_sellers is not None:
        sections.append(
            Section("top_sellers", _("成交额前十的卖方"), party_headers, _party_rows(dashboard.top_sellers))
        )
    if dashboard.top_buyers is not None:
        sections.append(Section("top_buyers", _("成交额前十的买方"), party_headers, _party_rows(dashboard.top_buyers)))
    indicator_rows = [
        [
            row.label,
            row.target_display,
            row.value,
            row.actual,
            row.progress,
            None if row.met is None else (_("已完成") if row.met else _("未完成")),
            row.missing,
        ]
        for row in dashboard.indicators
    ]
    sections.append(
        Section(
            "indicators",
            _("2019 年规划其他目标"),
            [_("指标"), _("目标"), _("录入值"), _("实际值"), _("完成进度(%)"), _("状态"), _("尚差")],
            indicator_rows,
        )
    )
    return sections


def sheet_title(section: Section) -> str:
    """Excel sheet names: at most 31 characters, no slash."""
    return section.title.replace("/", "、")[:31]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def to_csv(dashboard: Dashboard) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for section in dashboard_sections(dashboard):
        writer.writerow([section.title])
        writer.writerow(section.headers)
        writer.writerows([[_cell_text(v) for v in row] for row in section.rows])
        writer.writerow([])
    # A BOM so that Excel on Chinese Windows opens UTF-8 correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(dashboard: Dashboard) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for section in dashboard_sections(dashboard):
        sheet = workbook.create_sheet(sheet_title(section))
        sheet.append([dashboard.filters.period_label, section.title])
        sheet.append(section.headers)
        for cell in sheet[2]:
            cell.font = bold
        for row in section.rows:
            sheet.append(list(row))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, (Decimal, float)):
                    cell.number_format = "#,##0.00##"
        sheet.column_dimensions["A"].width = 34
        for letter in "BCDEFG":
            sheet.column_dimensions[letter].width = 20
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
