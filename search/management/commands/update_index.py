"""haystack's update_index with a progress bar and rate per model, on the default connection only.

`manage.py update_index [--remove] [--using whoosh] [-b 1000]`: without --using it updates the site's
engine ("default"), not every configured connection (the Whoosh peer is for the benchmark).
"""

import time

from django.utils.encoding import force_str
from haystack import connections
from haystack.exceptions import NotHandled
from haystack.management.commands import update_index as haystack_update_index
from haystack.utils.app_loading import haystack_get_models
from tqdm import tqdm


class Command(haystack_update_index.Command):
    help = "更新检索索引(默认连接 default),显示每类条目的进度与速度。"

    def handle(self, **options):
        if not options.get("using"):
            options["using"] = ["default"]
        return super().handle(**options)

    def update_backend(self, label, using):
        backend = connections[using].get_backend()
        unified_index = connections[using].get_unified_index()
        totals, bars, started = {}, {}, {}
        for model in haystack_get_models(label):
            try:
                index = unified_index.get_index(model)
            except NotHandled:
                continue
            totals[index] = index.build_queryset(
                using=using, start_date=self.start_date, end_date=self.end_date
            ).count()
        show = self.verbosity >= 1 and self.workers == 0
        original_update = backend.update

        def update_with_progress(index, iterable, commit=True):
            batch = list(iterable)
            if show and index not in bars:
                name = force_str(index.get_model()._meta.verbose_name_plural)
                bars[index] = tqdm(
                    total=totals.get(index), unit="条", desc=f"{name} → {using}", file=self.stderr._out, leave=True
                )
                started[index] = time.monotonic()
            original_update(index, batch, commit=commit)
            if not show:
                return
            bars[index].update(len(batch))
            if totals.get(index) is not None and bars[index].n >= totals[index]:
                _finish(index)

        def _finish(index):
            bar = bars.pop(index)
            bar.close()
            elapsed = max(time.monotonic() - started[index], 1e-9)
            name = force_str(index.get_model()._meta.verbose_name_plural)
            self.stdout.write(f"{name}: {bar.n} 条已写入 {using},{bar.n / elapsed:,.0f} 条/秒")

        backend.update = update_with_progress
        try:
            super().update_backend(label, using)
        finally:
            backend.update = original_update
            for index in list(bars):
                _finish(index)
