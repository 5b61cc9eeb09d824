"""One settings module, driven by environment variables with embedded defaults.

Embedded default (nothing to install): SQLite under var/, Whoosh, in-memory channel layer,
local-memory cache. Cluster: set DATABASE_URL (PostgreSQL), REDIS_URL (cache + channel layer)
and SEARCH_URL.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-lhasa-marketplace"  # noqa: S105 - embedded default only
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "channels",
    "marketplace",
    "marketplace.accounts",
    "listings",
    "search",
    "marketplace.messaging",
    "marketplace.contracts",
    "marketplace.stats",
    "matching",
    "marketplace.payments",
    # After "search", so that search's update_index / rebuild_index (progress, default alias only) win.
    "haystack",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.site",
                "marketplace.messaging.context_processors.unread",
            ],
        },
    },
]

# --- database --------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "marketplace.sqlite3",
            # WAL + a busy timeout let the task worker and the server share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- cache and channel layer: Redis when configured, in-process otherwise ---
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- search ----------------------------------------------------------------
# Embedded default: our tantivy engine behind haystack, its index under VAR_DIR/search. With SEARCH_URL the
# cluster backend (OpenSearch / Elasticsearch) answers instead. "whoosh" is stock haystack + Whoosh with jieba,
# kept as the benchmark's peer; index it explicitly (`update_index --using whoosh`). See docs/search.md.
SEARCH_URL = os.environ.get("SEARCH_URL", "")
SEARCH_DIR = Path(os.environ.get("SEARCH_DIR", VAR_DIR / "search"))
SEARCH_EMBEDDED_ENGINE = "search.backends.embedded.EmbeddedEngine"
SEARCH_CLUSTER_ENGINE = "search.backends.opensearch.OpenSearchEngine"
_search_cluster_ready = bool(SEARCH_URL) and (BASE_DIR / "search" / "backends" / "opensearch.py").exists()
HAYSTACK_CONNECTIONS = {
    "default": (
        {"ENGINE": SEARCH_CLUSTER_ENGINE, "URL": SEARCH_URL, "INDEX_NAME": os.environ.get("SEARCH_INDEX", "listings")}
        if _search_cluster_ready
        else {"ENGINE": SEARCH_EMBEDDED_ENGINE, "PATH": str(SEARCH_DIR / "embedded")}
    ),
    "whoosh": {"ENGINE": "search.backends.whoosh_cn.ChineseWhooshEngine", "PATH": str(SEARCH_DIR / "whoosh")},
}
HAYSTACK_DEFAULT_OPERATOR = "AND"
HAYSTACK_SEARCH_RESULTS_PER_PAGE = 20
# Index updates go through search/signals.py (on commit → task), not haystack's own signal processor.
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"
# Cluster backend (search/backends/opensearch.py, docs/opensearch.md): the client that talks to SEARCH_URL,
# "opensearch" (OpenSearch 2.x/3.x) or "elasticsearch" (Elasticsearch 8/9), and the prefix of the index alias
# the site searches (<prefix>-listings; search_reindex swaps it to a freshly built index).
SEARCH_CLIENT = os.environ.get("SEARCH_CLIENT", "opensearch")
SEARCH_INDEX_PREFIX = os.environ.get("SEARCH_INDEX_PREFIX", "marketplace")

# --- background tasks (django-tasks, database backend) ---------------------
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@lhasa-tech.example")

# --- i18n: zh-hans first, English second ------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024

# Upload limits (listings/uploads.py enforces them).
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_THUMB_SIZES = (320, 960)
PDF_MAX_BYTES = 20 * 1024 * 1024
IMPORT_MAX_BYTES = 30 * 1024 * 1024

# --- API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "拉萨科技成果转移转化平台 API",
    "DESCRIPTION": "Organisations, technologies (科技成果) and needs (技术需求).",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # No badge fetched from validator.swagger.io: the docs page makes no outside requests.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # A vocabulary used under several field names (maturity / min_maturity, kind of organisation and of IP
    # record, …) gets one named component instead of colliding names.
    "ENUM_NAME_OVERRIDES": {
        "FieldEnum": "listings.vocab.Field",
        "TagEnum": "listings.vocab.TagCode",
        "TransferModeEnum": "listings.vocab.ModeCode",
        "MaturityEnum": "listings.vocab.Maturity",
        "IPKindEnum": "listings.vocab.IPKind",
        "OrganisationKindEnum": "marketplace.accounts.models.Organisation.Kind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own loggers print once, through our handler, not again through the root.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

SITE_NAME = _("拉萨科技成果转移转化平台")

# --- messaging (marketplace.messaging: chat, notifications) ------------------
MESSAGING_RATE_LIMIT = int(os.environ.get("MESSAGING_RATE_LIMIT", "20"))  # messages per user …
MESSAGING_RATE_WINDOW = int(os.environ.get("MESSAGING_RATE_WINDOW", "10"))  # … per this many seconds
# Threads (each with its own database connection) for the WebSocket consumers' queries; 0 = Channels' single
# database thread. PostgreSQL takes concurrent writers; SQLite has one writer anyway.
MESSAGING_DB_THREADS = int(os.environ.get("MESSAGING_DB_THREADS", "4" if DATABASE_URL.startswith("postgres") else "0"))
# Users not seen (socket, heartbeat or page) for this long get their unread notifications by e-mail.
MESSAGING_OFFLINE_EMAIL_AFTER = int(os.environ.get("MESSAGING_OFFLINE_EMAIL_AFTER", str(15 * 60)))
MESSAGING_SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")  # links in those e-mails
if REDIS_URL:
    # Deployments (or test runs) sharing one Redis keep their channel names apart.
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ.get("CHANNEL_LAYER_PREFIX", "asgi")
    # All sockets of a worker share one Redis queue; the default 100 would drop events under a burst.
    CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 5000

# --- contracts and statistics (marketplace.contracts, marketplace.stats) ----
# Scanned contracts live outside MEDIA_ROOT and are served by a permission-checked view only.
CONTRACTS_PRIVATE_ROOT = Path(os.environ.get("CONTRACTS_PRIVATE_ROOT", VAR_DIR / "private"))
CONTRACTS_REVIEW_DAYS = 30  # the registry decides within 30 days of submission
CONTRACTS_NOTICE_DAYS = int(os.environ.get("CONTRACTS_NOTICE_DAYS", "15"))  # 公示 of state-funded sellers
CONTRACTS_SECOND_REVIEW_AMOUNT = Decimal("5000000")  # from this contract amount a second reviewer signs
CONTRACTS_REGISTRY_CODE = "540101"  # first six digits of registration numbers (region + year + serial)
STATS_TURNOVER_TARGET_SHARE = Decimal("0.005")  # the plan: technology-market turnover 0.5% of GDP

# --- payments (marketplace.payments, Stripe) ---------------------------------
# Switched on by the three keys; with any missing the site runs and says payments are not configured.
# STRIPE_API_BASE / STRIPE_JS_URL point at localstripe in development and tests (scripts/services.sh env).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
STRIPE_MAX_NETWORK_RETRIES = 2  # retried with the same idempotency key, so never a second charge
STRIPE_WEBHOOK_TOLERANCE = 300  # seconds; older signed timestamps are refused (replay window)
PAYMENTS_METHODS = ["card", "alipay", "wechat_pay"]
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}  # the library logs every request at INFO
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "PaymentStatusEnum": "marketplace.payments.models.Payment.Status",
        "PaymentKindEnum": "marketplace.payments.models.Payment.Kind",
        "PaymentFeeKindEnum": "marketplace.payments.models.Payment.FeeKind",
        "RefundStatusEnum": "marketplace.payments.models.Refund.Status",
        "LedgerEntryKindEnum": "marketplace.payments.models.LedgerEntry.Kind",
        # Named too, or the payment statuses above make the listings' `status` collide.
        "ListingStatusEnum": "listings.models.ListingStatus",
    }
)
