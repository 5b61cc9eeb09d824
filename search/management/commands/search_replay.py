"""python manage.py search_replay [--queue]: apply the index updates the engine could not take."""

from django.core.management.base import BaseCommand

from search import services, tasks
from search.models import PendingIndexOp


class Command(BaseCommand):
    help = "重放未能写入检索引擎的索引更新(引擎恢复后运行;成功一次后也会自动重放)。"

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="store_true", help="交给后台任务执行,而不是在本进程执行")

    def handle(self, *args, queue, **options):
        waiting = PendingIndexOp.objects.count()
        if queue:
            tasks.replay_pending_index_ops.enqueue()
            self.stdout.write(f"已排队重放 {waiting} 条索引更新")
            return
        outcome = services.pending_replay()
        self.stdout.write(
            f"待重放 {waiting} 条:已应用 {outcome['applied']},失败 {outcome['failed']},剩余 {outcome['left']}"
        )
        if outcome["failed"]:
            latest = PendingIndexOp.objects.order_by("-updated_at").first()
            self.stderr.write(f"检索引擎仍不可用:{latest.last_error if latest else ''}")
