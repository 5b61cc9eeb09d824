"""Bulk import throughput: the all-or-nothing importer against the per-row service path.

    .venv/bin/python bench/import.py [--quick] [--rows N]

Generates a CSV of realistic Chinese technologies (10,000 with --quick, else 50,000), imports it
into a throw-away SQLite database (embedded profile) and prints, side by side, the importer's
rows/s and that of listings.services.technology_create on a sample of rows (extrapolated).
The last line is one JSON object: {"rows": …, "seconds": …, "rows_per_s": …}.
"""

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLACES = ["高原", "拉萨", "藏区", "高寒", "低氧环境", "青藏", "林芝", "日喀则", "那曲", "山南"]
SUBJECTS = [
    ("青稞", "agriculture", ["agri_pastoral", "health"]),
    ("牦牛肉", "agriculture", ["agri_pastoral"]),
    ("藏药", "biomed", ["health"]),
    ("藏香猪", "agriculture", ["agri_pastoral"]),
    ("光伏组件", "energy", ["clean_energy"]),
    ("光热电站", "energy", ["clean_energy"]),
    ("唐卡数字化", "electronics", ["tourism", "digital"]),
    ("酥油", "agriculture", ["agri_pastoral", "health"]),
    ("冷链物流", "transport", ["livelihood"]),
    ("草地生态", "environment", ["ecology"]),
    ("建筑保温材料", "materials", ["livelihood"]),
    ("氧气供给", "urban", ["livelihood", "health"]),
    ("地热", "energy", ["clean_energy", "ecology"]),
    ("景区客流", "electronics", ["tourism", "digital"]),
    ("饮用水净化", "environment", ["health", "ecology"]),
    ("高原医疗器械", "biomed", ["health"]),
]
PROCESSES = [
    "深加工技术",
    "保鲜工艺",
    "智能监测系统",
    "高效提取方法",
    "低成本制备工艺",
    "远程运维平台",
    "防冻抗风设计",
    "质量快速检测方法",
    "标准化养殖方案",
    "节能改造技术",
]
BENEFITS = ["年增收约{n}万元", "降低能耗{p}%", "良品率提高{p}%", "可带动就业{n}人", "运输损耗下降{p}%"]
MATURITY = [("lab", "实验室", (1, 3)), ("small_pilot", "小试", (4, 5)), ("pilot", "中试", (6, 7))]
MATURITY += [("industrial", "产业化", (8, 9))]
MODES = [("transfer", "转让"), ("license", "许可"), ("equity", "作价入股"), ("co_develop", "合作开发")]
MODES += [("service", "技术服务")]
TAG_LABELS = {
    "health": "净土健康",
    "tourism": "文化旅游",
    "clean_energy": "清洁能源",
    "ecology": "生态环保",
    "agri_pastoral": "农牧业",
    "digital": "信息化",
    "livelihood": "民生",
}
FIELD_LABELS = {
    "agriculture": "农业",
    "biomed": "生物、医药和医疗器械",
    "energy": "新能源与高效节能",
    "electronics": "电子信息",
    "transport": "现代交通",
    "environment": "环境保护与资源综合利用",
    "materials": "新材料",
    "urban": "城市建设与社会发展",
}
HEADERS = ["标题", "简介", "详细描述", "技术领域", "标签", "成熟度", "TRL", "转化方式", "价格", "专利号", "应用前景"]


def generate(n: int, seed: int = 2026) -> list[dict]:
    """Rows as the service takes them; the CSV writer turns them into what people type."""
    from listings.patents import make_patent_number

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        place, (subject, field, tags), process = rng.choice(PLACES), rng.choice(SUBJECTS), rng.choice(PROCESSES)
        maturity, stage, (low, high) = rng.choice(MATURITY)
        modes = rng.sample(MODES, rng.randint(1, 3))
        price = rng.choice(["negotiable", "fixed", "range"])
        amount = rng.randint(5, 300) * 10_000
        year = rng.randint(2012, 2025)
        patents = [
            make_patent_number(f"{year}{rng.choice('12')}{rng.randint(0, 9_999_999):07d}")
            for _ in range(rng.randint(0, 2))
        ]
        benefit = rng.choice(BENEFITS).format(n=rng.randint(20, 800), p=rng.randint(5, 40))
        rows.append(
            {
                "title": f"{place}{subject}{process}(第{i + 1}号)",
                "summary": f"面向{place}{subject}产业的{process},{benefit}。",
                "description": (
                    f"本成果针对{place}地区{subject}生产中的实际问题,研发了{process}。"
                    f"经{rng.randint(1, 5)}年试验验证,{benefit},适合在拉萨及周边推广应用。"
                ),
                "benefits": benefit,
                "field": field,
                "tags": tags[: rng.randint(1, len(tags))],
                "maturity": maturity,
                "stage": stage,
                "trl": rng.randint(low, high),
                "modes": [m for m, _label in modes],
                "mode_labels": [label for _m, label in modes],
                "price_kind": price,
                "amount": amount,
                "patents": patents,
            }
        )
    return rows


def price_text(row: dict) -> str:
    if row["price_kind"] == "negotiable":
        return "面议"
    if row["price_kind"] == "range":
        return f"{row['amount'] // 10_000}-{row['amount'] // 10_000 * 2}万"
    return f"¥{row['amount']:,}" if row["amount"] % 20_000 else f"{row['amount'] // 10_000}万"


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for r in rows:
            writer.writerow(
                [
                    r["title"],
                    r["summary"],
                    r["description"],
                    FIELD_LABELS[r["field"]],
                    "、".join(TAG_LABELS[t] for t in r["tags"]),
                    r["stage"],
                    r["trl"],
                    ";".join(r["mode_labels"]),
                    price_text(r),
                    ",".join(r["patents"]),
                    r["benefits"],
                ]
            )


def service_kwargs(row: dict) -> dict:
    from decimal import Decimal

    kwargs = {
        "title": row["title"],
        "summary": row["summary"],
        "description": row["description"],
        "benefits": row["benefits"],
        "field": row["field"],
        "maturity": row["maturity"],
        "trl": row["trl"],
        "price_kind": row["price_kind"],
        "tags": row["tags"],
        "transfer_modes": row["modes"],
        "ip_records": [{"kind": "invention", "number": p} for p in row["patents"]],
    }
    if row["price_kind"] != "negotiable":
        kwargs["price_cny"] = Decimal(row["amount"])
    if row["price_kind"] == "range":
        kwargs["price_max_cny"] = Decimal(row["amount"] * 2)
    return kwargs


def setup_django(tmp: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SEARCH_URL"):
        os.environ.pop(name, None)
    os.environ["VAR_DIR"] = str(tmp / "var")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows (about half a minute)")
    parser.add_argument("--rows", type=int, help="override the number of rows")
    parser.add_argument("--service-rows", type=int, default=500, help="sample for the per-row service path")
    args = parser.parse_args()
    n = args.rows or (10_000 if args.quick else 50_000)

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmpdir:
        tmp = Path(tmpdir)
        setup_django(tmp)
        from listings import services
        from listings.importer import import_listings
        from listings.models import IPRecord, Technology
        from marketplace.accounts.creditcode import make_credit_code
        from marketplace.accounts.models import Membership, Organisation, User

        owner = User.objects.create_user("bench-owner", password="bench-pass-2026")
        org = Organisation.objects.create(
            name="西藏大学(基准测试)",
            kind="university",
            region="tibet",
            credit_code=make_credit_code("12540000MB0000001"),
            verification="verified",
        )
        Membership.objects.create(user=owner, organisation=org, role="owner")

        rows = generate(n)
        path = tmp / "technologies.csv"
        write_csv(rows, path)
        print(f"generated {n} rows, {path.stat().st_size / 1e6:.1f} MB CSV", file=sys.stderr)

        start = time.perf_counter()
        result = import_listings(path, kind="technology", organisation=org, by=owner, max_rows=n)
        seconds = time.perf_counter() - start
        if not result.ok:
            for error in result.errors[:20]:
                print(error, file=sys.stderr)
            raise SystemExit(f"import failed with {len(result.errors)} errors")
        assert Technology.objects.count() == n, Technology.objects.count()
        patents = sum(len(r["patents"]) for r in rows)
        assert IPRecord.objects.count() == patents
        bulk_rate = n / seconds

        sample = generate(args.service_rows, seed=7)
        start = time.perf_counter()
        for row in sample:
            services.technology_create(organisation=org, by=owner, **service_kwargs(row))
        service_seconds = time.perf_counter() - start
        service_rate = len(sample) / service_seconds

        print(
            f"bulk importer {bulk_rate:.0f} rows/s vs per-row services {service_rate:.0f} rows/s "
            f"({bulk_rate / service_rate:.1f}×; services extrapolated from {len(sample)} rows: "
            f"{n / service_rate:.1f} s for {n} rows vs {seconds:.1f} s)"
        )
        print(json.dumps({"rows": n, "seconds": round(seconds, 2), "rows_per_s": round(bulk_rate)}))


if __name__ == "__main__":
    main()
