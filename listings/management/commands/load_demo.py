from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from listings.demo.builder import DemoConflict, load_demo
from listings.demo.specs import SpecError
from marketplace.contracts.demo import demo_organisations, load_contract_demo


class Command(BaseCommand):
    help = "加载拉萨科技成果转移转化平台的演示数据(可重复运行,不会重复创建),并打印演示账号。"

    def add_arguments(self, parser):
        parser.add_argument("--no-images", action="store_true", help="不生成成果图片(更快)")

    def handle(self, *args, **options):
        try:
            result = load_demo(with_images=not options["no_images"])
        except (DemoConflict, SpecError, ValidationError) as exc:
            raise CommandError(f"演示数据未加载:{exc}") from exc
        except DatabaseError as exc:
            raise CommandError(f"演示数据未加载,数据库出错({exc});请先运行 python manage.py migrate。") from exc
        counts = result.counts
        summary = (
            f"机构 {counts['organisations']} 个,科技成果 {counts['technologies']} 项,"
            f"技术需求 {counts['needs']} 条,成果图片 {counts['images']} 张"
        )
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"演示数据已加载:{summary}"))
        else:
            self.stdout.write(f"演示数据已存在,未重复创建:{summary}")
        self.stdout.write(f"演示技术合同:{load_contract_demo(organisations_by_key=demo_organisations())} 项")
        self._print_logins(result.logins)

    def _print_logins(self, rows):
        header = ("用户名", "密码", "角色", "机构")
        widths = [max(_width(str(row[i])) for row in [header, *rows]) for i in range(4)]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        self.stdout.write("演示账号:")
        self.stdout.write(line)
        for row in [header, *rows]:
            cells = [f" {cell}{' ' * (w - _width(str(cell)))} " for cell, w in zip(row, widths, strict=True)]
            self.stdout.write("|" + "|".join(cells) + "|")
            if row is header:
                self.stdout.write(line)
        self.stdout.write(line)
        self.stdout.write("其他演示机构的账号:用户名为机构代号(如 xzau、cau、yakdairy),密码相同。")


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
