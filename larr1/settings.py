"""Django settings for Larr1.

Everything that differs between machines comes from the environment through the
typed readers in ``larr1.env``. With no variables set, Larr1 runs on one machine
with embedded defaults (SQLite, a local Redis, mail captured locally). Set
``LARR1_ENV=production`` and the variables listed in the README for a real
deployment; ``manage.py check --deploy`` then reports nothing.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from larr1 import env

BASE_DIR = Path(__file__).resolve().parent.parent

LARR1_ENV = env.choice("LARR1_ENV", "development", ("development", "production", "test"))
PRODUCTION = LARR1_ENV == "production"
DEBUG = env.boolean("DEBUG", default=LARR1_ENV == "development")

# Files Larr1 writes at run time in development: SQLite, captured mail, the mirror.
DATA_DIR = env.path("LARR1_DATA_DIR", BASE_DIR / ".larr1")

SECRET_KEY = env.secret("SECRET_KEY")
if SECRET_KEY is None:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production.")
    SECRET_KEY = "development-only-key-never-used-in-production-8c1f0b7e4d2a49e6a5f3"

ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.string("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "larr1",
    "approvals",
    "workspaces",
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
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "larr1.urls"
WSGI_APPLICATION = "larr1.wsgi.application"
ASGI_APPLICATION = "larr1.asgi.application"

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
                "django.template.context_processors.i18n",
                "larr1.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env.secret("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file in development. Each waits up
    # to 30 s for the lock instead of failing, and takes it when a transaction starts, so
    # two writers cannot deadlock while upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
_test_db_name = env.string("LARR1_TEST_DB_NAME")
if _test_db_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.secret("REDIS_URL", "redis://127.0.0.1:16379/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if LARR1_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

SITE_ID = 1
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Larr1] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"

GITHUB_CLIENT_ID = env.string("GITHUB_CLIENT_ID")
GITHUB_CLIENT_SECRET = env.secret("GITHUB_CLIENT_SECRET")
SOCIALACCOUNT_PROVIDERS = {}
if GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET, "key": ""}],
        "SCOPE": ["user:email"],
        "VERIFIED_EMAIL": True,
    }
SOCIALACCOUNT_ONLY = False

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hant", _("Traditional Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.string("TIME_ZONE", "Asia/Taipei")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", DATA_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Mail. In development everything goes to the local sink that ``bin/run`` starts,
# and /dev/mail/ shows what it caught.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.string("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env.integer("EMAIL_PORT", 1025, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Larr1 <larr1@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAIL_SINK_DIR = env.path("LARR1_MAIL_SINK_DIR", DATA_DIR / "mail")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")

# Celery, with Redis as broker and result store.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# The test profile runs tasks in-process unless a test starts a real worker.
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", LARR1_ENV == "test")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BEAT_SCHEDULE: dict = {}  # filled in below, once the intervals are read

# The platform catalog: profiles, CUDA images, storage bounds, domain. Validated at start.
LARR1_CATALOG_PATH = env.path("LARR1_CATALOG", BASE_DIR / "larr1" / "platform.yaml")

# The user repository that people open pull requests against.
LARR1_REPO_URL = env.string("LARR1_REPO_URL")
LARR1_REPO_BRANCH = env.string("LARR1_REPO_BRANCH", "main")
LARR1_FORGE = env.choice("LARR1_FORGE", "github", ("github", "gitea", "gitlab", "git"))
LARR1_FORGE_API_URL = env.string("LARR1_FORGE_API_URL")
LARR1_FORGE_REPOSITORY = env.string("LARR1_FORGE_REPOSITORY")  # owner/name on the forge
LARR1_FORGE_TOKEN = env.secret("LARR1_FORGE_TOKEN")
LARR1_GIT_USERNAME = env.string("LARR1_GIT_USERNAME")
LARR1_GIT_PASSWORD = env.secret("LARR1_GIT_PASSWORD")
LARR1_WEBHOOK_SECRET = env.secret("LARR1_WEBHOOK_SECRET")
LARR1_SYNC_INTERVAL = env.integer("LARR1_SYNC_INTERVAL", 300, minimum=10)  # seconds
LARR1_GIT_TIMEOUT = env.integer("LARR1_GIT_TIMEOUT", 60, minimum=1)  # seconds per fetch or push
LARR1_MIRROR_DIR = env.path("LARR1_MIRROR_DIR", DATA_DIR / "mirror.git")

# Kubernetes access: a kubeconfig file, or the pod's service account in the cluster.
LARR1_KUBECONFIG = env.path("KUBECONFIG", BASE_DIR / ".testbed" / "kubeconfig")
LARR1_KUBE_CONTEXT = env.string("LARR1_KUBE_CONTEXT")
LARR1_KUBE_IN_CLUSTER = env.boolean("LARR1_KUBE_IN_CLUSTER", False)
LARR1_KUBE_TIMEOUT = env.integer("LARR1_KUBE_TIMEOUT", 15, minimum=1)  # seconds per API call

# Logging: readable lines in development, one JSON object per line in production.
LOG_FORMAT = env.choice("LOG_FORMAT", "json" if PRODUCTION else "text", ("text", "json"))
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "larr1.logging.RedactSecretsFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
        "json": {"()": "larr1.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "kubernetes": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

if PRODUCTION:
    # Static files are served by the app itself (no separate web server in the pod).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
    if not env.string("SITE_URL"):
        raise ImproperlyConfigured("SITE_URL must be set in production: the address people open, used in email links.")

CELERY_BEAT_SCHEDULE["sync-user-repository"] = {"task": "approvals.sync", "schedule": LARR1_SYNC_INTERVAL}

# --- mirror ---
# Name and email on the merge commits Larr1 creates when an admin approves a request.
LARR1_GIT_COMMITTER_NAME = env.string("LARR1_GIT_COMMITTER_NAME", "Larr1")
LARR1_GIT_COMMITTER_EMAIL = env.string("LARR1_GIT_COMMITTER_EMAIL", "larr1@example.com")
# Seconds a sync may hold the lock that keeps syncs and approvals one at a time; a
# worker that dies while holding it blocks the next sync for at most this long.
LARR1_SYNC_LOCK_TIMEOUT = env.integer("LARR1_SYNC_LOCK_TIMEOUT", 900, minimum=30)
# Seconds per request to the forge's REST API.
LARR1_FORGE_TIMEOUT = env.integer("LARR1_FORGE_TIMEOUT", 15, minimum=1)

# --- provisioning ---
# Seconds a removed workspace keeps its namespace and volume before they are deleted.
LARR1_DELETE_GRACE_SECONDS = env.integer("LARR1_DELETE_GRACE_SECONDS", 7 * 24 * 3600, minimum=0)
# Seconds to wait for a workspace's Deployment to become available (a first CUDA image
# pull can take minutes) before the run fails with the reason read from its pods.
LARR1_READY_TIMEOUT = env.integer("LARR1_READY_TIMEOUT", 900, minimum=1)
# Seconds between checks of the pods while waiting, so the reason a workspace cannot be
# scheduled or pull its image shows at once instead of at the timeout.
LARR1_READY_CHECK_INTERVAL = env.integer("LARR1_READY_CHECK_INTERVAL", 10, minimum=1)
# Seconds a workspace may stay unschedulable, failing to pull its image or crash-looping
# before the run gives up and frees its worker. The task retries later with growing delays.
LARR1_READY_STUCK_SECONDS = env.integer("LARR1_READY_STUCK_SECONDS", 120, minimum=1)
# Cap on the total time one Kubernetes call spends retrying (API server restarts,
# timeouts, 5xx) before the step fails and the task retries later.
LARR1_KUBE_RETRY_SECONDS = env.integer("LARR1_KUBE_RETRY_SECONDS", 60, minimum=0)
# Seconds a worker holds a workspace for one step of its work; the readiness wait
# holds it for LARR1_READY_TIMEOUT more. A worker that dies blocks the workspace for
# at most that long, then another worker takes over.
LARR1_PROVISIONING_LEASE_SECONDS = env.integer("LARR1_PROVISIONING_LEASE_SECONDS", 300, minimum=1)
# Attempts and the first delay in seconds (doubling after each failure) for handing
# the credentials email to the SMTP server within one task run.
LARR1_EMAIL_ATTEMPTS = env.integer("LARR1_EMAIL_ATTEMPTS", 5, minimum=1)
LARR1_EMAIL_RETRY_DELAY = env.integer("LARR1_EMAIL_RETRY_DELAY", 2, minimum=0)
# Seconds after a "send new credentials" before its owner may ask again: each one restarts the workspace.
LARR1_ROTATION_COOLDOWN_SECONDS = env.integer("LARR1_ROTATION_COOLDOWN_SECONDS", 300, minimum=0)
# Seconds between runs of the task that deletes workspaces whose grace period is over.
LARR1_PURGE_INTERVAL = env.integer("LARR1_PURGE_INTERVAL", 3600, minimum=10)
CELERY_BEAT_SCHEDULE["purge-deleted-workspaces"] = {
    "task": "workspaces.purge_deleted",
    "schedule": LARR1_PURGE_INTERVAL,
}

# --- reconcile ---
# Seconds between reconcile rounds, which repair drift, report orphaned objects and
# record each workspace's observed state.
LARR1_RECONCILE_INTERVAL = env.integer("LARR1_RECONCILE_INTERVAL", 60, minimum=5)
# Seconds a round may hold the lock that keeps rounds one at a time; a worker that
# dies mid-round delays the next round by at most this long.
LARR1_RECONCILE_LOCK_SECONDS = env.integer("LARR1_RECONCILE_LOCK_SECONDS", 600, minimum=30)
CELERY_BEAT_SCHEDULE["reconcile-workspaces"] = {
    "task": "workspaces.reconcile",
    "schedule": LARR1_RECONCILE_INTERVAL,
}
