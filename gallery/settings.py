"""Settings for Atelier, read from the environment (see README.md for every variable)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from gallery.ops.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key() -> str:
    """A key generated once into an ignored file, so local runs need no configuration."""
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")
    SECRET_KEY = local_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "gallery",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "gallery.ops",
]

MIDDLEWARE = [
    "gallery.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "gallery.ops.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of an anonymous visitor: their cookie, else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A signed-in user's own language and time zone (gallery/i18n.py), over the browser's.
    "gallery.i18n.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gallery.urls"
WSGI_APPLICATION = "gallery.wsgi.application"
ASGI_APPLICATION = "gallery.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "gallery.views.context.workspace",
                "gallery.views.context.preferences",
            ],
            "builtins": ["django_htmx.templatetags.django_htmx"],
        },
    },
]

# SQLite by default, tuned so the web process and the workers write side by side:
# WAL lets readers run beside one writer, IMMEDIATE takes the write lock when a transaction
# starts (no deadlock-prone lock upgrades), and writers wait for each other instead of failing.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA mmap_size=134217728;"
        "PRAGMA cache_size=-32000;"
    ),
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        # A pool per process (psycopg_pool): a worker with many calls in flight borrows a
        # connection only for each short write, so each process holds at most this many of
        # PostgreSQL's 100.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10")),
            "timeout": 30,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins are throttled per account and per address (django-axes): after
# AXES_FAILURE_LIMIT failures either is locked for the cool-off, with a page that says so.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ATELIER_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ATELIER_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "gallery.ops.throttle.client_ip"
# Behind N reverse proxies, the client's address is the Nth entry from the right of
# X-Forwarded-For (used by the login and sign-up throttles and the logs).
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "0"))
# /metrics answers only a scraper sending this bearer token; empty: /metrics is off (404).
METRICS_TOKEN = os.environ.get("ATELIER_METRICS_TOKEN", "")
# Accounts one address may create per hour.
SIGNUP_RATE_LIMIT = int(os.environ.get("ATELIER_SIGNUP_RATE_LIMIT", "5"))
# Who may create an account: anyone ("open"), only someone holding a valid invitation link
# ("invite"), or nobody ("closed": the operator makes accounts). The operator pays every image.
ATELIER_SIGNUP = os.environ.get("ATELIER_SIGNUP", "open")

# Share links' public pages (/s/<token>/), per client address and minute: pages, and the image
# files those pages load (a board's page loads up to 60 thumbnails at once).
SHARE_PAGE_RATE_LIMIT = int(os.environ.get("ATELIER_SHARE_PAGE_RATE_LIMIT", "60"))
SHARE_FILE_RATE_LIMIT = int(os.environ.get("ATELIER_SHARE_FILE_RATE_LIMIT", "600"))
if ATELIER_SIGNUP not in ("open", "invite", "closed"):
    raise ImproperlyConfigured("ATELIER_SIGNUP must be open, invite or closed.")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gallery:home"
LOGOUT_REDIRECT_URL = "login"

# English and Simplified Chinese (README, "Languages"). A signed-in user's choice is stored with
# them; an anonymous visitor's is the language cookie, else their browser's Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "gallery" / "locale"]
# Chinese numbers grouped by thousands with commas (gallery/formats/zh_Hans).
FORMAT_MODULE_PATH = ["gallery.formats"]
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# The default time zone: each user's own (detected by their browser once, changed on the
# settings page) is activated for their requests.
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
# Media is never served from MEDIA_URL: originals and thumbnails go through views that check
# who is asking.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# With X-Accel-Redirect set (e.g. "/protected-media/"), image views hand the file to nginx.
MEDIA_ACCEL_REDIRECT_PREFIX = os.environ.get("MEDIA_ACCEL_REDIRECT_PREFIX", "")


def s3_storage(*, bucket: str, endpoint_url: str, region: str) -> dict:
    """The default storage on S3 or any S3-compatible server (README, "Several machines").

    Credentials come the usual boto3 way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or
    an instance role). Objects stay private; names are content hashes, so overwriting one writes
    the same bytes."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            # Self-hosted servers (SeaweedFS, MinIO, Garage) answer on one host, bucket in path.
            "addressing_style": "path" if endpoint_url else None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": MEDIA_REDIRECT_SECONDS,
            "file_overwrite": True,
            "location": os.environ.get("AWS_LOCATION", ""),
        },
    }


# Presigned URLs live this long (used only with MEDIA_REDIRECTS).
MEDIA_REDIRECT_SECONDS = int(os.environ.get("ATELIER_MEDIA_REDIRECT_SECONDS", "300"))
# Serve originals and thumbnails by a short-lived presigned redirect to the object store,
# instead of through the web process (README, "Several machines": measured both).
MEDIA_REDIRECTS = env_bool("ATELIER_MEDIA_REDIRECTS", False)
if bucket := os.environ.get("AWS_STORAGE_BUCKET_NAME", ""):
    STORAGES["default"] = s3_storage(
        bucket=bucket,
        endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL", ""),
        region=os.environ.get("AWS_S3_REGION_NAME", ""),
    )

TASKS = {
    "default": {
        # django-tasks-db's backend, which also wakes idle workers on PostgreSQL (NOTIFY).
        "BACKEND": "gallery.concurrent_worker.NotifyingDatabaseBackend",
        "QUEUES": ["default"],
    }
}
# Tasks one worker process runs at once: a generation mostly waits on the images API. Each
# provider's max_in_flight (gallery/services/catalog.py) caps its calls across all workers.
WORKER_CONCURRENCY = int(os.environ.get("ATELIER_WORKER_CONCURRENCY", "50"))
# A running generation holds a lease this long and renews it while it works; a sweep puts
# generations whose lease expired back in the queue (their worker died).
GENERATION_LEASE_SECONDS = int(os.environ.get("GENERATION_LEASE_SECONDS", "60"))
GENERATION_MAX_ATTEMPTS = int(os.environ.get("GENERATION_MAX_ATTEMPTS", "3"))

# The images API (docs/images-api-contract.md). With no key, the offline demo provider is used.
# Used as given, like the OpenAI SDK's base_url: calls go to {IMAGES_API_BASE_URL}/images/...
IMAGES_API_BASE_URL = os.environ.get("IMAGES_API_BASE_URL", "https://api.openai.com/v1")
IMAGES_API_KEY = os.environ.get("IMAGES_API_KEY", "")
# A JSON file that replaces the built-in model catalog (gallery/services/catalog.py).
IMAGES_API_MODELS_FILE = os.environ.get("IMAGES_API_MODELS_FILE", "")
IMAGES_API_ALLOW_PRIVATE_URLS = env_bool("IMAGES_API_ALLOW_PRIVATE_URLS", False)
IMAGES_API_MAX_DOWNLOAD_BYTES = int(os.environ.get("IMAGES_API_MAX_DOWNLOAD_BYTES", 30 * 2**20))
# The whole answer of one generation call, refused past this while it is read.
IMAGES_API_MAX_RESPONSE_BYTES = int(os.environ.get("IMAGES_API_MAX_RESPONSE_BYTES", 160 * 2**20))
IMAGES_API_TIMEOUT_SECONDS = float(os.environ.get("IMAGES_API_TIMEOUT_SECONDS", "300"))
IMAGES_API_DOWNLOAD_TIMEOUT_SECONDS = float(
    os.environ.get("IMAGES_API_DOWNLOAD_TIMEOUT_SECONDS", "30")
)
IMAGES_API_MAX_RETRIES = int(os.environ.get("IMAGES_API_MAX_RETRIES", "2"))
IMAGES_API_RETRY_BACKOFF_SECONDS = float(os.environ.get("IMAGES_API_RETRY_BACKOFF_SECONDS", "0.5"))
# Waits up to this are slept inside a call; longer ones are left to the queue.
IMAGES_API_IN_CALL_MAX_WAIT_SECONDS = float(
    os.environ.get("IMAGES_API_IN_CALL_MAX_WAIT_SECONDS", "8")
)
IMAGES_API_RETRY_AFTER_CAP_SECONDS = float(
    os.environ.get("IMAGES_API_RETRY_AFTER_CAP_SECONDS", "60")
)
# Images larger than this many pixels are refused (decompression bombs).
IMAGES_MAX_PIXELS = int(os.environ.get("IMAGES_MAX_PIXELS", 64_000_000))

# Content-Security-Policy (Django's own): scripts and <style> elements only from us or with the
# response's nonce; no inline handlers (onclick=...) and no eval. style="" attributes stay
# allowed (placeholder colours and aspect ratios; they cannot run code).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if MEDIA_REDIRECTS and os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    SECURE_CSP["img-src"].append(os.environ.get("AWS_S3_ENDPOINT_URL") or "https://*.amazonaws.com")
# Browser features Atelier never uses, switched off for the page and anything it embeds.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a promise to browsers that is slow to take back: only on the operator's word.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = logging_config(
    json_lines=os.environ.get("ATELIER_LOG_FORMAT", "plain") == "json",
    level=os.environ.get("ATELIER_LOG_LEVEL", "INFO"),
    django_level=os.environ.get("DJANGO_LOG_LEVEL", "WARNING"),
)
