"""haystack's rebuild_index, on the default connection unless --using says otherwise (progress shown)."""

from haystack.management.commands import rebuild_index as haystack_rebuild_index


class Command(haystack_rebuild_index.Command):
    help = "清空并重建检索索引(默认连接 default),显示进度。"

    def handle(self, **options):
        if not options.get("using"):
            options["using"] = ["default"]
        return super().handle(**options)
