"""python manage.py match_need NEED_ID [--top 10] [--json]

The need's ranked technologies, as its 匹配结果 page shows them: score, reasons, broken constraints.
"""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from listings.models import Need
from matching import api, selectors


class Command(BaseCommand):
    help = "Rank the technologies for a need (the same ranking as the 匹配结果 page)."

    def add_arguments(self, parser):
        parser.add_argument("need_id", help="id of the need (技术需求)")
        parser.add_argument("--top", type=int, default=10, help="how many technologies (1-100, default 10)")
        parser.add_argument("--json", action="store_true", help="one JSON object instead of text")

    def handle(self, *args, need_id, top=10, json=False, **options):
        if not str(need_id).isdigit():
            raise CommandError(f"需求编号应为正整数,而不是「{need_id}」")
        if not 1 <= top <= 100:
            raise CommandError(f"--top 应在 1-100 之间,而不是 {top}")
        try:
            need = selectors.need_for_matching(pk=int(need_id))
        except Need.DoesNotExist:
            raise CommandError(f"需求 {need_id} 不存在")
        with translation.override("zh-hans"):
            result = selectors.technology_ranking(need=need, limit=top)
            if result.too_short:
                raise CommandError(f"需求 {need.pk}「{need.title}」描述太短,无法匹配:{result.suggestions[0]}")
            if json:
                self.stdout.write(_dumps(api.ranking_json(result)))
                return
            self._text(need, result)

    def _text(self, need, result):
        self.stdout.write(f"需求 {need.pk}「{need.title}」({need.organisation.name})")
        if not result.engine:
            self.stdout.write("注意:检索服务不可用,候选来自数据库匹配,可能不完整")
        if not result.items:
            self.stdout.write("没有找到匹配的科技成果。可以试试:")
            for tip in result.suggestions:
                self.stdout.write(f"  - {tip}")
            return
        for position, item in enumerate(result.items, start=1):
            tech = item.technology
            self.stdout.write(f"{position:>3}. [{item.score:5.1f}] {tech.pk} {tech.title} — {tech.organisation.name}")
            for reason in item.reasons:
                self.stdout.write(f"       ✓ {reason}")
            for broken in item.broken:
                self.stdout.write(f"       ✗ {broken}")


def _dumps(data) -> str:
    return jsonlib.dumps(data, ensure_ascii=False, indent=2)
