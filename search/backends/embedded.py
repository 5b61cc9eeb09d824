"""The embedded search engine (placeholder: the Whoosh peer until the tantivy engine lands)."""

from .whoosh_cn import ChineseWhooshEngine


class EmbeddedEngine(ChineseWhooshEngine):
    pass
