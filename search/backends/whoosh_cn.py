"""Stock haystack + Whoosh, with jieba's ChineseAnalyzer on the document field.

This is the peer the benchmark measures the embedded engine against; it is the backend the
issue names as the embedded baseline, changed only where Chinese needs it.
"""

from haystack.backends.whoosh_backend import WhooshEngine, WhooshSearchBackend
from jieba.analyse import ChineseAnalyzer
from whoosh.fields import TEXT


class ChineseWhooshSearchBackend(WhooshSearchBackend):
    def build_schema(self, fields):
        content_field_name, schema = super().build_schema(fields)
        boost = next((f.boost for f in fields.values() if f.index_fieldname == content_field_name), 1.0)
        schema.remove(content_field_name)
        schema.add(
            content_field_name,
            TEXT(stored=True, analyzer=ChineseAnalyzer(), field_boost=boost, sortable=True, spelling=True),
        )
        return content_field_name, schema


class ChineseWhooshEngine(WhooshEngine):
    backend = ChineseWhooshSearchBackend
