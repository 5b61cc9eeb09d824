"""Test overlay: the same settings, with fast hashing, tasks run in-process, and media in a temp dir."""

import os
import tempfile

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
MEDIA_ROOT = tempfile.mkdtemp(prefix="marketplace-test-media-")
PROFILE = "cluster" if os.environ.get("DATABASE_URL") else "embedded"
