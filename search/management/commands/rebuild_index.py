"""haystack's rebuild_index, on the default connection unless --using says otherwise (progress shown)."""

from django.core.management import call_command
from haystack import connections
from haystack.management.commands import rebuild_index as haystack_rebuild_index


class Command(haystack_rebuild_index.Command):
    help = "清空并重建检索索引(默认连接 default),显示进度。"

    def handle(self, **options):
        if not options.get("using"):
            options["using"] = ["default"]
        # The cluster backend rebuilds behind its alias (search_reindex): never an empty index meanwhile.
        swapping = [u for u in options["using"] if hasattr(connections[u].get_backend(), "reindex")]
        for using in swapping:
            call_command(
                "search_reindex",
                using=using,
                batch_size=options.get("batchsize"),
                verbosity=options.get("verbosity", 1),
                stdout=self.stdout._out,
                stderr=self.stderr._out,
            )
        options["using"] = [u for u in options["using"] if u not in swapping]
        if options["using"]:
            return super().handle(**options)
        return None
