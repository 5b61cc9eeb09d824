"""Bulk import of technologies (科技成果) and needs (技术需求) from CSV, XLSX or JSON lines.

All or nothing: every row is parsed and validated first (the model's own field validators and
``clean()``, so the rules are those of the forms), every problem is collected with the row
number a spreadsheet shows (header = row 1) and the column, and only a clean file is written —
in one transaction, with ``bulk_create`` for the listings, their tag / transfer-mode rows and
their patents. Imported listings are drafts; the organisation submits them for review later.

Entry point: :func:`import_listings`. The command ``import_listings`` and the import page
(``listings/imports.py``) both call it.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation, User
from marketplace.accounts.selectors import organisation_find

from .models import IPRecord, ListingStatus, Need, Technology
from .services import ip_records_from_patents
from .vocab import (
    FIELD_ALIASES,
    MATURITY_ALIASES,
    MODE_ALIASES,
    County,
    Field,
    Maturity,
    ModeCode,
    PriceKind,
    TagCode,
    label_to_code,
    maturity_for_trl,
)

TECHNOLOGY = "technology"
NEED = "need"
KINDS = (TECHNOLOGY, NEED)
KIND_LABELS = {TECHNOLOGY: _("科技成果"), NEED: _("技术需求")}

DEFAULT_MAX_ROWS = 20_000
PROGRESS_EVERY = 200
BATCH_SIZE = 500  # listings have ~20 columns: stays under SQLite's limit of bound variables
LINK_BATCH_SIZE = 5000

# Canonical column names, as in DESIGN.md; *_REQUIRED must be present in every file of that kind.
TECHNOLOGY_COLUMNS = (
    "title",
    "summary",
    "description",
    "field",
    "trl",
    "transfer_modes",
    "maturity",
    "tags",
    "price_cny",
    "patent",
    "benefits",
    "keywords",
    "org",
)
TECHNOLOGY_REQUIRED = ("title", "summary", "description", "field", "trl", "transfer_modes")
NEED_COLUMNS = (
    "title",
    "description",
    "field",
    "county",
    "deadline",
    "tags",
    "budget_cny",
    "desired_modes",
    "min_maturity",
    "org",
)
NEED_REQUIRED = ("title", "description", "field", "county", "deadline")

# Header aliases (compared after normalising: lower case, no spaces, no "*", no "(…)" hint).
COMMON_ALIASES = {
    "title": ("标题", "名称", "项目名称"),
    "description": ("描述", "详细描述", "详细介绍", "内容"),
    "field": ("技术领域", "领域", "所属领域"),
    "tags": ("标签", "特色产业标签", "产业标签", "特色产业"),
    "org": ("机构", "单位", "机构名称", "单位名称", "所属机构", "统一社会信用代码", "organisation", "organization"),
}
TECHNOLOGY_ALIASES = {
    "title": ("成果名称", "技术名称"),
    "summary": ("简介", "成果简介", "摘要"),
    "description": ("成果描述", "技术描述"),
    "maturity": ("成熟度", "成熟阶段", "技术成熟度"),
    "trl": ("技术就绪度", "就绪度", "技术就绪度trl", "trl等级"),
    "transfer_modes": ("转化方式", "合作方式", "交易方式", "modes"),
    "price_cny": ("价格", "转让价格", "报价", "价格元", "price"),
    "patent": ("专利号", "专利", "专利号码", "patents", "patent_numbers"),
    "benefits": ("应用前景", "效益", "应用前景与效益", "经济效益"),
    "keywords": ("关键词", "关键字"),
}
NEED_ALIASES = {
    "title": ("需求名称",),
    "description": ("需求描述",),
    "county": ("县区", "所在县区", "县区园区", "所在县区园区", "园区", "所在地"),
    "deadline": ("截止日期", "截止时间", "截至日期"),
    "budget_cny": ("预算", "预算金额", "预算元", "budget"),
    "desired_modes": ("转化方式", "可接受的转化方式", "合作方式", "modes", "transfer_modes"),
    "min_maturity": ("最低成熟度", "成熟度", "要求成熟度", "maturity"),
}

TAG_ALIASES = {
    "旅游": TagCode.TOURISM,
    "文旅": TagCode.TOURISM,
    "农牧": TagCode.AGRI_PASTORAL,
    "数字化": TagCode.DIGITAL,
}
COUNTY_ALIASES = {
    "城关": County.CHENGGUAN,
    "堆龙": County.DUILONGDEQING,
    "堆龙德庆": County.DUILONGDEQING,
    "达孜": County.DAZI,
    "林周": County.LINZHOU,
    "当雄": County.DANGXIONG,
    "尼木": County.NIMU,
    "曲水": County.QUSHUI,
    "墨竹工卡": County.MOZHUGONGKA,
    "柳梧新区": County.HIGH_TECH_ZONE,
    "拉萨高新区": County.HIGH_TECH_ZONE,
    "拉萨经开区": County.ECON_DEV_ZONE,
    "经济技术开发区": County.ECON_DEV_ZONE,
    "达孜工业园": County.DAZI_INDUSTRIAL,
}

_MULTI_SPLIT = re.compile(r"[;；,，、|/\n]+")
_HEADER_HINT = re.compile(r"[(（][^)）]*[)）]")
_HEADER_NOISE = re.compile(r"[\s*＊_\-:：]+")
_NEGOTIABLE = {"", "面议", "议价", "协商", "面谈", "价格面议", "negotiable"}
_MONEY_NOISE = re.compile(r"(人民币|rmb|cny|[¥￥,，\s]|元)", re.IGNORECASE)
_RANGE_SPLIT = re.compile(r"(?<=[\d万亿])\s*(?:-|~|～|—|–|至|到)\s*")
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)(万|亿)?$")
_UNIT = {None: Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_TRL = re.compile(r"^(?:trl)?\s*(\d+)\s*级?$", re.IGNORECASE)
_CENT = Decimal("0.01")
_MONEY_LIMIT = Decimal(10) ** 12  # DecimalField(max_digits=14, decimal_places=2)


# ------------------------------------------------------------------ results


@dataclass
class RowError:
    """One problem: ``row`` as a spreadsheet shows it (None for the whole file), the column as
    written in the file (``header``) and its canonical name (``column``), and the reason."""

    row: int | None
    column: str
    message: str
    header: str = ""

    def __str__(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(str(_("第%(row)s行") % {"row": self.row}))
        if self.header or self.column:
            parts.append(str(_("列 %(column)s") % {"column": self.header or self.column}))
        parts.append(self.message)
        return " · ".join(parts)

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "header": self.header or self.column, "message": self.message}


@dataclass
class ImportResult:
    kind: str | None
    total_rows: int = 0
    created: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _FileProblem(Exception):
    """A problem with the file as a whole: nothing is read further."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = str(message)


ProgressCallback = Callable[[int, int], None]


# ------------------------------------------------------------------ entry point


def import_listings(
    source: bytes | str | Path | Any,
    *,
    name: str = "",
    kind: str | None = None,
    organisation: Organisation | None = None,
    by: User | None = None,
    dry_run: bool = False,
    restrict_to_organisation: bool = False,
    progress: ProgressCallback | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> ImportResult:
    """Validate a whole file, then create every row as a draft in one transaction — or nothing.

    ``source`` is bytes, a path or a binary file object; ``name`` (the file name) helps to tell
    the format. ``kind`` is guessed from the columns when None. ``organisation`` is the default
    owner of the rows; an ``org`` column overrides it per row, unless ``restrict_to_organisation``
    (the web page), where an ``org`` cell naming another organisation is an error.
    """
    max_rows = max_rows or getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)
    max_bytes = max_bytes or settings.IMPORT_MAX_BYTES
    result = ImportResult(kind=kind, dry_run=dry_run)
    with translation.override(settings.LANGUAGE_CODE):
        try:
            data, name = _read_source(source, name, max_bytes)
            sheet = read_sheet(data, name, max_rows=max_rows)
            result.kind = kind = kind or detect_kind(sheet.headers)
            if kind not in KINDS:
                raise _FileProblem(_("未知的导入类型「%(kind)s」,应为 technology 或 need") % {"kind": kind})
            columns, result.warnings = map_columns(sheet.headers, kind)
            if not sheet.rows and not sheet.errors:
                raise _FileProblem(_("文件中没有数据行(只有表头)"))
            if organisation is None and "org" not in columns:
                raise _FileProblem(_("请指定机构(--org),或在文件中加入「机构」列(机构名称或统一社会信用代码)"))
        except _FileProblem as problem:
            result.errors.append(RowError(row=None, column="", message=problem.message))
            return result

        result.total_rows = len(sheet.rows)
        builder = _RowBuilder(
            kind=kind,
            columns=columns,
            organisation=organisation,
            by=by,
            restrict=restrict_to_organisation,
        )
        result.errors.extend(sheet.errors)
        pending = builder.build_all(sheet, progress=progress)
        result.errors.extend(builder.errors)
        result.errors.sort(key=lambda e: e.row or 0)
        if result.errors or dry_run:
            return result
        result.created_ids = _save(kind, pending)
        result.created = len(result.created_ids)
        if progress:
            progress(result.total_rows, result.total_rows)
    return result


# ------------------------------------------------------------------ reading files


@dataclass
class Sheet:
    """Headers as written, and data rows as (spreadsheet row number, values by header)."""

    format: str
    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    errors: list[RowError] = field(default_factory=list)


def _read_source(source, name: str, max_bytes: int) -> tuple[bytes, str]:
    limit_message = _("文件过大:上限为 %(mb)s MB") % {"mb": max_bytes // (1024 * 1024)}
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str | Path):
        path = Path(source)
        name = name or path.name
        try:
            if path.stat().st_size > max_bytes:
                raise _FileProblem(limit_message)
            data = path.read_bytes()
        except OSError as exc:
            raise _FileProblem(_("无法读取文件:%(reason)s") % {"reason": exc.strerror or exc}) from exc
    else:
        name = name or getattr(source, "name", "") or ""
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _FileProblem(limit_message)
    if not data.strip():
        raise _FileProblem(_("文件是空的"))
    return data, PurePath(name or "").name


def read_sheet(data: bytes, name: str = "", *, max_rows: int = DEFAULT_MAX_ROWS) -> Sheet:
    """Tell the format by content first, then by extension, and read the rows."""
    ext = PurePath(name).suffix.lower()
    if data[:4] == b"PK\x03\x04":
        sheet = _read_xlsx(data)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _FileProblem(_("不支持旧版 Excel(.xls)文件,请在 Excel 中另存为 .xlsx 或 CSV(UTF-8)"))
    elif ext == ".xlsx":
        raise _FileProblem(_("文件扩展名是 .xlsx,但内容不是有效的 Excel 文件"))
    else:
        text = _decode(data)
        if ext in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith(("{", "[")):
            sheet = _read_jsonl(text)
        else:
            sheet = _read_csv(text)
    if len(sheet.rows) > max_rows:
        raise _FileProblem(
            _("数据行过多:共 %(n)s 行,一次最多导入 %(max)s 行,请拆分文件") % {"n": len(sheet.rows), "max": max_rows}
        )
    return sheet


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode text" (tab-separated).
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _FileProblem(_("文件以 UTF-16 标记开头,但内容无法按 UTF-16 解码"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel in Chinese saves "CSV" in the system code page: GBK, a subset of GB18030.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _FileProblem(_("无法识别文件编码,请保存为 UTF-8 或 GB18030(GBK)编码的 CSV"))


def _is_blank(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _tabular(format_name: str, records: Iterable[tuple[int, list[Any]]]) -> Sheet:
    """Header = first non-empty row; rows after it keep their spreadsheet numbers."""
    headers: list[str] | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, values in records:
        if _is_blank(values):
            continue
        if headers is None:
            headers = [_cell_text(v) for v in values]
            while headers and not headers[-1]:
                headers.pop()
            continue
        rows.append((number, {h: values[i] for i, h in enumerate(headers) if h and i < len(values)}))
    if headers is None:
        raise _FileProblem(_("文件是空的"))
    return Sheet(format=format_name, headers=headers, rows=rows)


def _read_csv(text: str) -> Sheet:
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _tabular("csv", enumerate(reader, start=1))
    except csv.Error as exc:
        raise _FileProblem(_("CSV 格式错误(第%(line)s行附近):%(reason)s") % {"line": reader.line_num, "reason": exc})


def _read_xlsx(data: bytes) -> Sheet:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _FileProblem(_("无法读取 Excel 文件,请确认是 .xlsx 格式:%(reason)s") % {"reason": exc})
    try:
        sheet = workbook.worksheets[0]
        # The stored dimension is sometimes wrong (files written by other tools): read every row.
        sheet.reset_dimensions()
        return _tabular("xlsx", ((n, list(r)) for n, r in enumerate(sheet.iter_rows(values_only=True), start=1)))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _FileProblem(_("无法读取 Excel 文件:%(reason)s") % {"reason": exc})
    finally:
        workbook.close()


def _read_jsonl(text: str) -> Sheet:
    headers: dict[str, None] = {}
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    if text.lstrip().startswith("["):
        raise _FileProblem(_("JSON 文件请使用 JSON Lines 格式:每行一个对象,而不是一个数组"))
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(RowError(row=number, column="", message=str(_("JSON 格式错误:%(r)s") % {"r": exc.msg})))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(row=number, column="", message=str(_("每行应为一个 JSON 对象 {…}"))))
            continue
        try:
            # Lone surrogates ("\ud800") parse, but no database can store them.
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            errors.append(RowError(row=number, column="", message=str(_("含有无效的 Unicode 字符"))))
            continue
        obj = {str(k).strip(): v for k, v in obj.items()}
        headers.update(dict.fromkeys(obj))
        rows.append((number, obj))
    if not rows and not errors:
        raise _FileProblem(_("文件是空的"))
    return Sheet(format="jsonl", headers=list(headers), rows=rows, errors=errors)


# ------------------------------------------------------------------ columns


def normalise_header(header: str) -> str:
    header = _HEADER_HINT.sub("", str(header or "").replace("\ufeff", ""))
    return _HEADER_NOISE.sub("", header).lower()


def _alias_table(kind: str) -> dict[str, str]:
    specific = TECHNOLOGY_ALIASES if kind == TECHNOLOGY else NEED_ALIASES
    columns = TECHNOLOGY_COLUMNS if kind == TECHNOLOGY else NEED_COLUMNS
    table = {normalise_header(c): c for c in columns}
    for aliases in (COMMON_ALIASES, specific):
        for column, names in aliases.items():
            for alias in names:
                table.setdefault(normalise_header(alias), column)
    return table


_ALIASES = {kind: _alias_table(kind) for kind in KINDS}


def detect_kind(headers: Iterable[str]) -> str:
    """Technology or need, from the columns only one of them has (价格 vs 预算, TRL vs 截止日期…)."""
    keys = {normalise_header(h) for h in headers}
    tech_only = set(_ALIASES[TECHNOLOGY]) - set(_ALIASES[NEED])
    need_only = set(_ALIASES[NEED]) - set(_ALIASES[TECHNOLOGY])
    tech, need = len(keys & tech_only), len(keys & need_only)
    if tech and not need:
        return TECHNOLOGY
    if need and not tech:
        return NEED
    raise _FileProblem(
        _("无法从列名判断是科技成果还是技术需求,请指定导入类型(命令行 --kind technology 或 --kind need)")
    )


def map_columns(headers: list[str], kind: str) -> tuple[dict[str, str], list[str]]:
    """{canonical column: header as written}, and warnings about the columns that are ignored."""
    table = _ALIASES[kind]
    columns: dict[str, str] = {}
    warnings: list[str] = []
    for header in headers:
        if not header:
            continue
        column = table.get(normalise_header(header))
        if column is None:
            warnings.append(str(_("未知的列「%(h)s」,已忽略") % {"h": header}))
        elif column in columns:
            raise _FileProblem(
                _("列「%(a)s」和「%(b)s」都表示 %(c)s,请只保留一列") % {"a": columns[column], "b": header, "c": column}
            )
        else:
            columns[column] = header
    required = TECHNOLOGY_REQUIRED if kind == TECHNOLOGY else NEED_REQUIRED
    missing = [c for c in required if c not in columns]
    if missing:
        raise _FileProblem(
            _("缺少必填列:%(cols)s(%(kind)s导入需要 %(req)s)")
            % {"cols": "、".join(missing), "kind": KIND_LABELS[kind], "req": "、".join(required)}
        )
    return columns, warnings


# ------------------------------------------------------------------ values


class _Vocabulary:
    """Code or Chinese label → code, memoised (the same few labels repeat in every row)."""

    def __init__(self, choices: type[models.TextChoices], aliases: dict | None = None):
        self.choices, self.aliases, self.cache = choices, aliases, {}

    def code(self, text: str) -> str | None:
        text = text.strip()
        if text not in self.cache:
            code = label_to_code(self.choices, text, self.aliases)
            if code is None:
                # Spreadsheets also use the English labels of the second language.
                with translation.override("en"):
                    code = label_to_code(self.choices, text, self.aliases)
            self.cache[text] = None if code is None else str(code)
        return self.cache[text]

    def options(self) -> str:
        return "、".join(str(label) for _value, label in self.choices.choices)


FIELDS = _Vocabulary(Field, FIELD_ALIASES)
TAGS = _Vocabulary(TagCode, TAG_ALIASES)
MODES = _Vocabulary(ModeCode, MODE_ALIASES)
MATURITIES = _Vocabulary(Maturity, MATURITY_ALIASES)
COUNTIES = _Vocabulary(County, COUNTY_ALIASES)


class CellError(ValueError):
    """A value that cannot be read; the message is the reason in Chinese."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "、".join(_cell_text(v) for v in value)
    return str(value).strip()


def split_multi(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [_cell_text(v) for v in value]
    else:
        items = _MULTI_SPLIT.split(_cell_text(value))
    return [i.strip() for i in items if i and i.strip()]


def parse_codes(value: Any, vocabulary: _Vocabulary, what: str) -> list[str]:
    codes, unknown = [], []
    for item in split_multi(value):
        code = vocabulary.code(item)
        if code is None:
            unknown.append(item)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise CellError(
            _("无法识别的%(what)s:%(bad)s(可选:%(options)s)")
            % {"what": what, "bad": "、".join(unknown), "options": vocabulary.options()}
        )
    return codes


def parse_choice(value: Any, vocabulary: _Vocabulary, what: str) -> str | None:
    text = _cell_text(value)
    if not text:
        return None
    code = vocabulary.code(text)
    if code is None:
        raise CellError(
            _("无法识别的%(what)s「%(bad)s」(可选:%(options)s)")
            % {"what": what, "bad": text, "options": vocabulary.options()}
        )
    return code


def parse_trl(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_("TRL 应为 1-9 的整数"))
    if isinstance(value, int | float | Decimal):
        if value != int(value):
            raise CellError(_("TRL 应为 1-9 的整数,而不是 %(v)s") % {"v": value})
        trl = int(value)
    else:
        match = _TRL.match(str(value).strip())
        if not match:
            raise CellError(_("TRL 应为 1-9 的整数,而不是「%(v)s」") % {"v": value})
        trl = int(match.group(1))
    if not 1 <= trl <= 9:
        raise CellError(_("TRL 应在 1 到 9 之间,而不是 %(v)s") % {"v": trl})
    return trl


def _amount(text: str, unit: str | None, original: Any, what: str) -> Decimal:
    match = _AMOUNT.match(text)
    if not match:
        raise CellError(
            _("%(what)s格式不正确:「%(v)s」(示例:500000、50万、¥1,200,000、30-50万、面议)")
            % {"what": what, "v": original}
        )
    value = Decimal(match.group(1)) * _UNIT[match.group(2) or unit]
    return _money(value, original, what)


def _money(value: Decimal, original: Any, what: str) -> Decimal:
    if not value.is_finite():
        raise CellError(_("%(what)s格式不正确:「%(v)s」") % {"what": what, "v": original})
    if value <= 0:
        raise CellError(_("%(what)s必须大于 0:「%(v)s」") % {"what": what, "v": original})
    if value >= _MONEY_LIMIT:
        raise CellError(_("%(what)s过大:「%(v)s」(上限为一万亿元)") % {"what": what, "v": original})
    if value != value.quantize(_CENT, rounding=ROUND_HALF_UP):
        raise CellError(_("%(what)s最多保留两位小数(分):「%(v)s」") % {"what": what, "v": original})
    return value.quantize(_CENT)


def parse_price(
    value: Any, *, what: Any = None, allow_range: bool = True
) -> tuple[str, Decimal | None, Decimal | None]:
    """(price kind, price, maximum) from 面议 / 500000 / 50万 / ¥1,200,000 / 30-50万 / 300000~500000."""
    what = what or _("价格")
    if isinstance(value, bool):
        raise CellError(_("%(what)s格式不正确:「%(v)s」") % {"what": what, "v": value})
    if isinstance(value, int | float | Decimal):
        try:
            return PriceKind.FIXED, _money(Decimal(str(value)), value, what), None
        except InvalidOperation:
            raise CellError(_("%(what)s格式不正确:「%(v)s」") % {"what": what, "v": value})
    text = _cell_text(value)
    if text.lower() in _NEGOTIABLE:
        return PriceKind.NEGOTIABLE, None, None
    text = _MONEY_NOISE.sub("", text).replace("万元", "万")
    if text.lower() in _NEGOTIABLE:
        return PriceKind.NEGOTIABLE, None, None
    parts = _RANGE_SPLIT.split(text)
    if len(parts) == 1:
        return PriceKind.FIXED, _amount(text, None, value, what), None
    if len(parts) != 2 or not allow_range:
        if not allow_range:
            raise CellError(_("%(what)s请填写一个金额,而不是区间:「%(v)s」") % {"what": what, "v": value})
        raise CellError(_("%(what)s格式不正确:「%(v)s」") % {"what": what, "v": value})
    low_text, high_text = parts
    high_unit = high_text[-1] if high_text[-1:] in ("万", "亿") else None
    # "30-50万": a bare first number takes the unit of the second.
    low = _amount(low_text, high_unit if low_text[-1:] not in ("万", "亿") else None, value, what)
    high = _amount(high_text, None, value, what)
    if high < low:
        raise CellError(_("%(what)s区间的最高价不能低于最低价:「%(v)s」") % {"what": what, "v": value})
    if high == low:
        return PriceKind.FIXED, low, None
    return PriceKind.RANGE, low, high


def parse_date(value: Any) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _cell_text(value)
    match = _DATE.match(text)
    if not match:
        raise CellError(_("日期格式不正确:「%(v)s」(应如 2026-12-31、2026/12/31 或 2026年12月31日)") % {"v": text})
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise CellError(_("日期不存在:「%(v)s」") % {"v": text})


# ------------------------------------------------------------------ rows


@dataclass
class _Pending:
    instance: Technology | Need
    tags: list[str]
    modes: list[str]
    ip_records: list[IPRecord] = field(default_factory=list)


# Model errors on these fields belong to the column the user filled in.
_ERROR_COLUMN = {"price_max_cny": "price_cny", "price_kind": "price_cny", "organisation": "org", "__all__": ""}
# Fields the importer sets itself: not worth validating per row.
_INTERNAL = [
    "organisation",
    "created_by",
    "status",
    "review_note",
    "region",
    "submitted_at",
    "published_at",
    "created_at",
    "tags",
    "transfer_modes",
    "desired_modes",
]


class _RowBuilder:
    def __init__(self, *, kind: str, columns: dict[str, str], organisation, by, restrict: bool):
        self.kind, self.columns, self.by, self.restrict = kind, columns, by, restrict
        self.organisation = organisation
        self.errors: list[RowError] = []
        self._orgs: dict[str, Organisation | None] = {}
        self._today = timezone.localdate()
        self._now = timezone.now()

    def build_all(self, sheet: Sheet, *, progress: ProgressCallback | None) -> list[_Pending]:
        build = self._technology if self.kind == TECHNOLOGY else self._need
        total = len(sheet.rows)
        pending = []
        if progress:
            progress(0, total)
        for done, (number, raw) in enumerate(sheet.rows, start=1):
            values = {column: raw.get(header) for column, header in self.columns.items()}
            bad: set[str] = set()
            for column, value in values.items():
                # PostgreSQL refuses NUL in text; it only comes from broken exports, so say where it is.
                if isinstance(value, str) and "\x00" in value:
                    self._error(number, column, _("含有空字符(NUL),请检查该单元格或重新导出文件"))
                    values[column] = None
                    bad.add(column)
            row = build(number, values, bad)
            if row is not None:
                pending.append(row)
            if progress and done % PROGRESS_EVERY == 0:
                progress(done, total)
        if progress and total % PROGRESS_EVERY:
            progress(total, total)
        return pending

    # -- helpers

    def _error(self, row: int, column: str, message: Any) -> None:
        self.errors.append(RowError(row=row, column=column, header=self.columns.get(column, ""), message=str(message)))

    def _text(self, values: dict, column: str, row: int, bad: set, *, required: bool = False) -> str:
        text = _cell_text(values.get(column))
        if required and not text and column not in bad:
            self._error(row, column, _("必填,不能为空"))
            bad.add(column)
        return text

    def _parse(self, row: int, column: str, bad: set, parser: Callable, *args, **kwargs):
        try:
            return parser(*args, **kwargs)
        except CellError as exc:
            self._error(row, column, exc)
            bad.add(column)
            return None

    def _organisation(self, values: dict, row: int, bad: set) -> Organisation | None:
        ref = _cell_text(values.get("org"))
        if "org" in bad:
            return None
        if not ref:
            if self.organisation is None:
                self._error(row, "org", _("请填写机构名称或统一社会信用代码"))
                bad.add("org")
            return self.organisation
        if ref not in self._orgs:
            self._orgs[ref] = organisation_find(ref)
        org = self._orgs[ref]
        if org is None:
            self._error(
                row, "org", _("找不到机构「%(ref)s」(请填写平台上已注册机构的全称或统一社会信用代码)") % {"ref": ref}
            )
            bad.add("org")
        elif self.restrict and self.organisation is not None and org.pk != self.organisation.pk:
            self._error(
                row,
                "org",
                _("只能导入到所选机构「%(name)s」,本行填写的是「%(ref)s」") % {"name": self.organisation, "ref": ref},
            )
            bad.add("org")
            return None
        return org

    def _validate(self, instance, row: int, bad: set) -> bool:
        try:
            instance.full_clean(exclude=_INTERNAL, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = _ERROR_COLUMN.get(name, name)
                if column in bad:
                    continue  # already reported with a more precise reason
                bad.add(column)
                self._error(row, column, "；".join(str(m) for m in messages))
            return False
        return not bad

    # -- kinds

    def _technology(self, row: int, values: dict, bad: set[str]) -> _Pending | None:
        org = self._organisation(values, row, bad)
        field_code = self._parse(row, "field", bad, parse_choice, values.get("field"), FIELDS, _("技术领域"))
        if field_code is None and "field" not in bad:
            self._error(row, "field", _("必填,不能为空(可选:%(o)s)") % {"o": FIELDS.options()})
            bad.add("field")
        trl = self._parse(row, "trl", bad, parse_trl, values.get("trl"))
        if trl is None and "trl" not in bad:
            self._error(row, "trl", _("必填:技术就绪度 TRL 1-9"))
            bad.add("trl")
        maturity = self._parse(row, "maturity", bad, parse_choice, values.get("maturity"), MATURITIES, _("成熟度"))
        if maturity is None and trl is not None:
            maturity = maturity_for_trl(trl)
        tags = self._parse(row, "tags", bad, parse_codes, values.get("tags"), TAGS, _("标签")) or []
        modes = self._parse(row, "transfer_modes", bad, parse_codes, values.get("transfer_modes"), MODES, _("转化方式"))
        if not modes and "transfer_modes" not in bad:
            self._error(row, "transfer_modes", _("请至少填写一种转化方式(可选:%(o)s)") % {"o": MODES.options()})
            bad.add("transfer_modes")
        price = self._parse(row, "price_cny", bad, parse_price, values.get("price_cny"))
        price_kind, price_cny, price_max = price or (PriceKind.NEGOTIABLE, None, None)
        ip_records = self._parse(row, "patent", bad, _patents, values.get("patent")) or []
        technology = Technology(
            organisation_id=org.pk if org else None,
            created_by=self.by,
            region=org.region if org else "",
            status=ListingStatus.DRAFT,
            created_at=self._now,
            title=self._text(values, "title", row, bad, required=True),
            summary=self._text(values, "summary", row, bad, required=True),
            description=self._text(values, "description", row, bad, required=True),
            benefits=self._text(values, "benefits", row, bad),
            keywords=self._text(values, "keywords", row, bad),
            field=field_code or "",
            maturity=maturity or "",
            trl=trl,
            price_kind=price_kind,
            price_cny=price_cny,
            price_max_cny=price_max,
        )
        if not maturity:
            bad.add("maturity")  # derived from the TRL, whose problem is already reported
        if not self._validate(technology, row, bad):
            return None
        return _Pending(technology, tags, modes, ip_records)

    def _need(self, row: int, values: dict, bad: set[str]) -> _Pending | None:
        org = self._organisation(values, row, bad)
        field_code = self._parse(row, "field", bad, parse_choice, values.get("field"), FIELDS, _("技术领域"))
        if field_code is None and "field" not in bad:
            self._error(row, "field", _("必填,不能为空(可选:%(o)s)") % {"o": FIELDS.options()})
            bad.add("field")
        county = self._parse(row, "county", bad, parse_choice, values.get("county"), COUNTIES, _("县区/园区"))
        if county is None and "county" not in bad:
            self._error(row, "county", _("必填,不能为空(可选:%(o)s)") % {"o": COUNTIES.options()})
            bad.add("county")
        deadline = self._parse(row, "deadline", bad, parse_date, values.get("deadline"))
        if deadline is None and "deadline" not in bad:
            self._error(row, "deadline", _("必填:截止日期,如 2026-12-31"))
            bad.add("deadline")
        elif deadline is not None and deadline < self._today:
            self._error(row, "deadline", _("截止日期 %(d)s 已过,不能早于今天") % {"d": deadline.isoformat()})
            bad.add("deadline")
        min_maturity = self._parse(
            row, "min_maturity", bad, parse_choice, values.get("min_maturity"), MATURITIES, _("成熟度")
        )
        tags = self._parse(row, "tags", bad, parse_codes, values.get("tags"), TAGS, _("标签")) or []
        modes = self._parse(row, "desired_modes", bad, parse_codes, values.get("desired_modes"), MODES, _("转化方式"))
        budget = self._parse(
            row, "budget_cny", bad, parse_price, values.get("budget_cny"), what=_("预算"), allow_range=False
        )
        need = Need(
            organisation_id=org.pk if org else None,
            created_by=self.by,
            region=org.region if org else "",
            status=ListingStatus.DRAFT,
            created_at=self._now,
            title=self._text(values, "title", row, bad, required=True),
            description=self._text(values, "description", row, bad, required=True),
            field=field_code or "",
            county=county or "",
            deadline=deadline,
            min_maturity=min_maturity or "",
            budget_cny=budget[1] if budget else None,
        )
        if not self._validate(need, row, bad):
            return None
        return _Pending(need, tags, modes or [])


def _patents(value: Any) -> list[IPRecord]:
    try:
        return ip_records_from_patents(split_multi(value))
    except ValueError as exc:
        raise CellError(str(exc))


# ------------------------------------------------------------------ saving


@transaction.atomic
def _save(kind: str, pending: list[_Pending]) -> list[int]:
    model = Technology if kind == TECHNOLOGY else Need
    instances = [p.instance for p in pending]
    model.objects.bulk_create(instances, batch_size=BATCH_SIZE)
    modes_field = "transfer_modes" if kind == TECHNOLOGY else "desired_modes"
    for name, attr in (("tags", "tags"), (modes_field, "modes")):
        m2m = model._meta.get_field(name)
        through = m2m.remote_field.through
        own, other = f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"
        rows = [through(**{own: p.instance.pk, other: code}) for p in pending for code in getattr(p, attr)]
        through.objects.bulk_create(rows, batch_size=LINK_BATCH_SIZE)
    records = []
    for p in pending:
        for record in p.ip_records:
            record.technology_id = p.instance.pk
            records.append(record)
    if records:
        IPRecord.objects.bulk_create(records, batch_size=LINK_BATCH_SIZE)
    return [i.pk for i in instances]


# ------------------------------------------------------------------ template files


def template_rows(kind: str) -> tuple[list[str], list[str]]:
    """Chinese headers and one example row that imports as it is (the page offers it as CSV)."""
    if kind == TECHNOLOGY:
        return (
            [
                "标题",
                "简介",
                "详细描述",
                "技术领域",
                "标签",
                "成熟度",
                "TRL",
                "转化方式",
                "价格",
                "专利号",
                "应用前景",
                "关键词",
            ],
            [
                "高原青稞全谷物低温加工技术",
                "低温研磨与挤压膨化工艺,保留青稞β-葡聚糖,出粉率提高12%。",
                "针对高原青稞加工损耗大、附加值低的问题,开发了低温研磨与挤压膨化成套工艺,已在拉萨完成中试。",
                "农业",
                "农牧业、净土健康",
                "中试",
                "6",
                "许可、合作开发",
                "30-50万",
                "ZL201710601862.3",
                "适用于青稞面粉、速食青稞粥等产品,年产千吨线可增收约200万元。",
                "青稞、全谷物、低温研磨",
            ],
        )
    deadline = timezone.localdate() + datetime.timedelta(days=180)
    return (
        ["标题", "详细描述", "技术领域", "标签", "预算", "县区", "转化方式", "最低成熟度", "截止日期"],
        [
            "牦牛肉冷链保鲜技术需求",
            "堆龙德庆区牦牛肉加工企业,夏季运往内地途中易变质,希望引进冷链保鲜与包装技术。",
            "农业",
            "农牧业",
            "30万",
            "堆龙德庆区",
            "转让、技术服务",
            "中试",
            deadline.strftime("%Y-%m-%d"),
        ],
    )


def template_csv(kind: str) -> bytes:
    """UTF-8 with BOM, so that Excel opens the Chinese text correctly."""
    headers, example = template_rows(kind)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
