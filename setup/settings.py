"""Settings of the clientes API. Runtime configuration comes from the environment (docs/reference/api.md, "Running the image")."""

import os
import secrets
from pathlib import Path

import dj_database_url

from ecr_deploy.runtime.database import database_from_environment
from setup.environment import env_bool, env_hosts, env_int, env_origins

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG")

# No key lives in the code. Without DJANGO_SECRET_KEY the image's start (manage.py serve) makes one per container;
# with DJANGO_DEBUG=1 a development key is made per process; otherwise Django refuses to sign anything.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (secrets.token_urlsafe(50) if DEBUG else "")

# The course's line: `manage.py prepare_image` patches it at build (the course's `sed`; ['*'] by default).
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "clientes",
    "ecr_deploy",
]

MIDDLEWARE = [
    # First: answers /health/ for any Host (a load balancer's checks use the target's IP), before host checks.
    "ecr_deploy.runtime.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "setup.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "setup.wsgi.application"

# DATABASE_URL (e.g. postgres://user:password@host:5432/name) selects a shared database; else DATABASE_HOST,
# DATABASE_PORT, DATABASE_NAME, DATABASE_USER and DATABASE_PASSWORD (what provision_ecs's RDS gives a task; TLS
# required, DATABASE_SSLMODE overrides); without either, the SQLite file baked into the image at build, with the
# fixture. Connections are kept between requests and checked first.
SQLITE_DIR = BASE_DIR / "data"
try:
    DATABASES = {
        "default": dj_database_url.config(
            default=f"sqlite:///{SQLITE_DIR / 'db.sqlite3'}", conn_max_age=600, conn_health_checks=True
        )
    }
except ValueError as err:  # the server still starts: `manage.py serve` says why once, /health/ answers 503
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy", "NAME": f"DATABASE_URL is malformed: {err}"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DATABASES["default"] = database_from_environment(DATABASES["default"])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "pt-br"
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # collectstatic at build; WhiteNoise serves it compressed, cached for ever
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_KEEP_ONLY_HASHED_FILES = True  # pages link the hashed names only; the image keeps half the bytes
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# TLS may end at a load balancer: these switch on HTTPS-only behaviour when the site is served over HTTPS.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL_REDIRECT else None
# Browsers ignore this header on plain-HTTP origins other than localhost, and log an error for it.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin" if SECURE_SSL_REDIRECT else None
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
# The https origins whose forms may post here (deploy_ecs sets them from DOMAINS behind HTTPS).
CSRF_TRUSTED_ORIGINS = env_origins("DJANGO_CSRF_TRUSTED_ORIGINS")
# Justified where `check --deploy` would warn: plain HTTP is the course's `docker run -p 8000:8000` and a load
# balancer's port 80 listener; HSTS and its preload list are opt-in, since they bind a domain for months.
SILENCED_SYSTEM_CHECKS = [
    *(["security.W008", "security.W012", "security.W016"] if not SECURE_SSL_REDIRECT else []),
    *(
        ["security.W004"]
        if not SECURE_HSTS_SECONDS
        else ["security.W005"]
        if not SECURE_HSTS_INCLUDE_SUBDOMAINS
        else []
    ),
    "security.W021",
]

REST_FRAMEWORK = {
    # Anyone reads; writing needs a user: HTTP Basic for API clients (401 with a challenge), a session for the
    # browsable API (its login link is /api-auth/login/).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
    "DEFAULT_FILTER_BACKENDS": [
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# DJANGO_ALLOWED_HOSTS (comma-separated), when set, replaces at run time the hosts patched in at build.
ALLOWED_HOSTS = env_hosts("DJANGO_ALLOWED_HOSTS") or ALLOWED_HOSTS

# ecr_deploy: see DEFAULTS in ecr_deploy/defaults.py. make demo keeps its Terraform state apart from infra/'s.
ECR_DEPLOY = {
    "FIXTURES": ["clientes.json"],
    "TERRAFORM_DIR": os.environ.get("ECR_DEPLOY_TERRAFORM_DIR", "infra"),
    "ECS": {
        "TERRAFORM_DIR": os.environ.get("ECR_DEPLOY_ECS_TERRAFORM_DIR", "infra/ecs"),
        # The welcome messages' queue (clientes/tasks.py), its worker, which scales on its backlog, and a nightly
        # clean-up of expired sessions at 03:00 in São Paulo.
        "QUEUES": ["default"],
        "PROCESSES": {
            "worker": {
                "command": ["celery", "-A", "setup", "worker", "--loglevel", "INFO", "--queues", "default"],
                "queue": "default",
                "max": 2,
            }
        },
        "SCHEDULES": {
            "limpeza": {
                "schedule": "cron(0 3 * * ? *)",
                "command": ["python", "manage.py", "clearsessions"],
                "timezone": "America/Sao_Paulo",
            }
        },
    },
}

# Celery (setup/celery.py): SQS as its broker, the queue provision_ecs made given by its URL (predefined: the worker
# needs no ListQueues or CreateQueue), and the task role's credentials. With no queue, a job runs in the request.
CELERY_QUEUE_URL = os.environ.get("SQS_QUEUE_URL_DEFAULT", "")
CELERY_BROKER_URL = "sqs://" if CELERY_QUEUE_URL else "memory://"
CELERY_TASK_ALWAYS_EAGER = not CELERY_QUEUE_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "region": os.environ.get("AWS_REGION", "us-east-1"),
    "predefined_queues": {"default": {"url": CELERY_QUEUE_URL}},
    "visibility_timeout": 300,  # infra/ecs's filas_visibilidade_s
    "wait_time_seconds": 20,  # long polling, as the queue's own
}
# SQS carries neither remote control nor events (Celery's SQS broker guide).
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
