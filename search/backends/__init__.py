"""Search backends of the project (haystack engines) and what they share.

Every backend raises ``SearchUnavailable`` when its engine cannot be reached (connection refused,
timeout, the cluster answering 5xx): the selectors fall back to a database search, and the
index pipeline keeps the update as a PendingIndexOp to replay later.
"""


class SearchUnavailable(Exception):
    """The search engine cannot be reached or cannot answer right now."""


class SearchError(Exception):
    """The engine answered, but refused the request (a bug in the request, not an outage)."""
