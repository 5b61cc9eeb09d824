"""python manage.py search_reindex [--using default] [--batch-size N] [--keep-old]

Rebuilds the cluster index without a moment of empty search: a new timestamped index is bulk-loaded
in chunks (progress bar), then the alias is swapped to it atomically and the old index deleted.
"""

from django.core.management.base import BaseCommand, CommandError
from haystack import connections
from tqdm import tqdm

from search.backends import SearchError, SearchUnavailable


class Command(BaseCommand):
    help = "重建集群检索索引:写入新索引,完成后原子切换别名并删除旧索引,重建期间检索不中断。"

    def add_arguments(self, parser):
        parser.add_argument("--using", default="default", help="haystack 连接名(默认 default)")
        parser.add_argument("--batch-size", type=int, default=None, help="每批写入的文档数(默认 1000)")
        parser.add_argument("--keep-old", action="store_true", help="切换后保留旧索引(默认删除)")

    def handle(self, *args, using, batch_size, keep_old, **options):
        if using not in connections.connections_info:
            raise CommandError(f"没有名为「{using}」的检索连接")
        backend = connections[using].get_backend()
        if not hasattr(backend, "reindex"):
            raise CommandError(f"连接「{using}」的检索后端不支持别名切换重建;请用 rebuild_index")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size 必须是正整数")

        stream = getattr(self.stderr, "_out", self.stderr)
        bars: list[tqdm] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(
                    tqdm(total=total, unit="条", desc="写入新索引", file=stream, disable=options["verbosity"] < 1)
                )
            bars[0].update(done - bars[0].n)

        try:
            result = backend.reindex(batch_size=batch_size, progress=progress, keep_old=keep_old)
        except SearchUnavailable as error:
            raise CommandError(f"检索引擎不可用,未做任何改动:{error}")
        except SearchError as error:
            raise CommandError(f"重建失败,仍在使用原索引:{error}")
        finally:
            for bar in bars:
                bar.close()
        previous = "、".join(result["previous"]) or "无"
        self.stdout.write(
            self.style.SUCCESS(
                f"重建完成:{result['documents']} 条文档写入 {result['index']},用时 {result['seconds']} 秒;"
                f"别名 {backend.alias} 已切换(原索引:{previous}{',已保留' if keep_old else ',已删除'})。"
            )
        )
