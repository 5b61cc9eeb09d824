"""python manage.py import_listings FILE [--kind technology|need] [--org ID] [--dry-run]

All or nothing: a file with any bad row prints one line per problem and saves nothing.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from listings.importer import KIND_LABELS, KINDS, import_listings
from marketplace.accounts.selectors import organisation_find


class Command(BaseCommand):
    help = "批量导入科技成果或技术需求(CSV、XLSX、JSON Lines),全部校验通过才保存,导入后为草稿。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV(UTF-8 或 GB18030)、XLSX 或 JSON Lines 文件")
        parser.add_argument("--kind", choices=KINDS, help="technology(科技成果)或 need(技术需求);默认按列名判断")
        parser.add_argument("--org", help="机构:id、全称或统一社会信用代码;文件中的「机构」列优先")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告,不保存")

    def handle(self, *args, file, kind, org, dry_run, **options):
        organisation = None
        if org:
            organisation = organisation_find(org)
            if organisation is None:
                raise CommandError(f"找不到机构「{org}」(可用 id、机构全称或统一社会信用代码)")

        # tqdm redraws a line with \r; Django's OutputWrapper would append a newline to every write.
        stream = getattr(self.stderr, "_out", self.stderr)
        bars: list[tqdm] = []

        def progress(processed: int, total: int) -> None:
            if not bars:  # the total is known once the file is read
                bars.append(tqdm(total=total, unit="行", desc="校验", file=stream, disable=options["verbosity"] < 1))
            bars[0].update(processed - bars[0].n)

        try:
            result = import_listings(file, kind=kind, organisation=organisation, dry_run=dry_run, progress=progress)
        finally:
            for bar in bars:
                bar.close()

        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"注意:{warning}"))
        if len(result.errors) == 1 and result.errors[0].row is None:
            raise CommandError(f"导入失败:{result.errors[0].message}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"导入失败:共 {len(result.errors)} 处错误,未保存任何数据。")

        label = KIND_LABELS[result.kind]
        if dry_run:
            self.stdout.write(self.style.SUCCESS(f"校验通过:{result.total_rows} 条{label}可以导入(--dry-run,未保存)。"))
        else:
            self.stdout.write(self.style.SUCCESS(f"导入完成:新建 {result.created} 条{label}(草稿状态)。"))
