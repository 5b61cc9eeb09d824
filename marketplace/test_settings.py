"""Test overlay: the same settings, with fast hashing, tasks run in-process, and media in a temp dir."""

import os
import tempfile

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
MEDIA_ROOT = tempfile.mkdtemp(prefix="marketplace-test-media-")
PROFILE = "cluster" if os.environ.get("DATABASE_URL") else "embedded"
# File-based search indexes (embedded engine, Whoosh peer) in a temp dir too, never var/search of the site.
SEARCH_DIR = tempfile.mkdtemp(prefix="marketplace-test-search-")
HAYSTACK_CONNECTIONS = {
    alias: {**conn, "PATH": os.path.join(SEARCH_DIR, alias)} if "PATH" in conn else conn
    for alias, conn in HAYSTACK_CONNECTIONS.items()  # noqa: F405
}
