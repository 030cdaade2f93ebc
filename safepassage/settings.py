"""Django settings for Safe Passage, read from the environment (see docs/configuration.md)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from safepassage.lib.env import envbool, envint, envlist, envsecret, envstr

django_stubs_ext.monkeypatch()  # lets admin and querysets take type parameters at run time

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("SAFEPASSAGE_VAR_DIR", str(BASE_DIR / "var")))

# "production" refuses to start without a secret key or with debug on; "demo" and "test" are local.
MODE = envstr("SAFEPASSAGE_MODE", "production")
if MODE not in {"production", "demo", "test"}:
    raise ImproperlyConfigured("SAFEPASSAGE_MODE must be production, demo or test.")

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envsecret("SECRET_KEY")
AUDIT_PSEUDONYM_KEY = envsecret("AUDIT_PSEUDONYM_KEY")

if MODE == "production":
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set SECRET_KEY (or SECRET_KEY_FILE) to at least 32 random characters.")
elif not SECRET_KEY:
    # Demo and tests: a per-checkout key kept under var/, never committed.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text(encoding="utf-8").strip()
if not AUDIT_PSEUDONYM_KEY:
    AUDIT_PSEUDONYM_KEY = SECRET_KEY

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if MODE != "production" else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SAFEPASSAGE_FACE = envstr("SAFEPASSAGE_FACE", "all")
if SAFEPASSAGE_FACE not in {"public", "staff", "all"}:
    raise ImproperlyConfigured("SAFEPASSAGE_FACE must be public, staff or all.")

INSTALLED_APPS = [
    "safepassage.accounts",
    "safepassage.audit",
    "safepassage.vault",
    "safepassage.intake",
    "safepassage.public",
    "safepassage.api",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    # First: replace the client address by a keyed pseudonym so nothing later can log or store it.
    "safepassage.accounts.middleware.ClientPseudonymMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "safepassage.public.middleware.PrivacyHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "safepassage.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "safepassage.vault.middleware.SealedMiddleware",
    # Last: every view needs an access rule (public, login, or a named permission).
    "safepassage.accounts.middleware.DenyByDefaultMiddleware",
]

if SAFEPASSAGE_FACE == "public":
    MIDDLEWARE.insert(1, "safepassage.public.middleware.PublicFaceMiddleware")

ROOT_URLCONF = "safepassage.urls"
WSGI_APPLICATION = "safepassage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "safepassage" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "safepassage.accounts.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, else the embedded SQLite under var/.
_default_db = f"sqlite:///{VAR_DIR / 'safepassage.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(envsecret("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets readers go on during a write; IMMEDIATE serialises writers so the audit chain stays linear.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (shared across app servers), else the database or local memory.
REDIS_URL = envsecret("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
# allauth's backend alone: it hashes a dummy password for unknown names, so an unknown user costs
# the same time as a wrong password (and a second backend would hash every attempt twice).
AUTHENTICATION_BACKENDS = ["safepassage.accounts.backends.AuthenticationBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
CSRF_FAILURE_VIEW = "safepassage.public.errors.csrf_failure"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Sessions: server-side, ended at once by User.security_stamp; idle timeout in IdleTimeoutMiddleware.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cache" if REDIS_URL else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_AGE = envint("SESSION_MAX_AGE", 12 * 3600)
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

# TLS: behind a reverse proxy that sets X-Forwarded-Proto. HSTS is only sent over HTTPS.
_tls = envbool("SAFEPASSAGE_TLS", MODE == "production")
if envbool("SAFEPASSAGE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = _tls
CSRF_COOKIE_SECURE = _tls
LANGUAGE_COOKIE_SECURE = _tls
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin rather than no-referrer: with no-referrer Chromium sends "Origin: null" on same-site form
# POSTs, which Django's CSRF check must refuse. same-origin still sends nothing to any other site.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=(), browsing-topics=()"
)

# Languages.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("sv", _("Swedish")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "safepassage" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = envstr("TIME_ZONE", "Europe/Stockholm")
FORMAT_MODULE_PATH = ["safepassage.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "safepassage" / "static"]
WHITENOISE_USE_FINDERS = MODE != "production"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if MODE != "production"
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# allauth: username login, no self-signup, no e-mail flows; MFA mandatory (RequireSecondFactor).
ACCOUNT_ADAPTER = "safepassage.accounts.adapter.AccountAdapter"
MFA_ADAPTER = "safepassage.accounts.adapter.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_EMAIL_NOTIFICATIONS = False
# Throttling and lockout, per account ("key") and per client (a keyed pseudonym, never the address).
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/15m/key,20/24h/key",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Safe Passage"
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10
MFA_PASSKEY_LOGIN_ENABLED = False
# Browsers allow WebAuthn on http://localhost without it; this switch would turn origin checks off.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
# allauth's WebAuthn forms, wrapped so a malformed answer from a key is a form error, never a 500.
MFA_FORMS = {
    "authenticate_webauthn": "safepassage.accounts.mfa_forms.AuthenticateWebAuthnForm",
    "reauthenticate_webauthn": "safepassage.accounts.mfa_forms.ReauthenticateWebAuthnForm",
    "add_webauthn": "safepassage.accounts.mfa_forms.AddWebAuthnForm",
    "login_webauthn": "safepassage.accounts.mfa_forms.LoginWebAuthnForm",
    "signup_webauthn": "safepassage.accounts.mfa_forms.SignupWebAuthnForm",
}
MFA_RATE_LIMITS = {"authenticate": "5/m/user", "reauthenticate": "5/m/user"}

# Vault: the node's unseal material lives in tmpfs only (see docs/vault.md). One directory per database,
# so that two servers or test runs on one machine never share keys.
VAULT_RUNTIME_DIR = envstr(
    "SAFEPASSAGE_RUNTIME_DIR",
    "/dev/shm/safepassage-"  # noqa: S108 (tmpfs on purpose; keyring.runtime_dir checks owner and mode)
    + hashlib.sha256(str(DATABASES["default"].get("NAME", "")).encode()).hexdigest()[:16],
)
VAULT_ALLOW_ANY_RUNTIME_DIR = envbool("VAULT_ALLOW_ANY_RUNTIME_DIR", False)
# How often a process checks its master key against the database (a node left with an old key stops).
VAULT_VERIFY_SECONDS = 5.0
# The shred store: one random secret per sensitive record, kept outside the main database so that erasing a
# record also defeats dumps taken before the erasure. A file path (SQLite) or a postgresql:// URL of a database
# other than the main one. Back it up apart from the database, with short retention (docs/vault.md).
VAULT_SHRED_STORE = envstr("SAFEPASSAGE_SHRED_STORE", str(VAR_DIR / "shred-store.sqlite3"))
# Encrypted files (attachments, intake uploads): ciphertext only, named by random ids.
VAULT_FILE_DIR = Path(envstr("SAFEPASSAGE_FILE_DIR", str(VAR_DIR / "files")))
# Files that arrived through the public face wait here (encrypted) until staff adopt them into VAULT_FILE_DIR;
# the public face needs write access to this directory only (docs/intake.md).
# Empty: "arrivals" inside VAULT_FILE_DIR (vault.files.arrivals_dir).
VAULT_ARRIVALS_DIR = envstr("SAFEPASSAGE_ARRIVALS_DIR", "")

# Public intake (docs/intake.md). The codename's KDF: Argon2id passes and memory in KiB, paid by every
# submission and every return to the mailbox.
INTAKE_CODENAME_KDF = (envint("INTAKE_KDF_PASSES", 1), envint("INTAKE_KDF_MEMORY_KIB", 8192))
INTAKE_MAX_FILES = envint("INTAKE_MAX_FILES", 3)
INTAKE_MAX_FILE_MB = envint("INTAKE_MAX_FILE_MB", 10)
# Where the quick-exit button leaves for: a harmless page that looks ordinary on a screen over a shoulder.
INTAKE_QUICK_EXIT_URL = envstr("INTAKE_QUICK_EXIT_URL", "https://yandex.ru/pogoda/")
# The requester's form token (mailbox replies) stays valid this long.
INTAKE_MAILBOX_TOKEN_SECONDS = 30 * 60

# Invitations and reset links.
INVITATION_TTL = timedelta(hours=envint("INVITATION_TTL_HOURS", 72))

# API tokens.
API_TOKEN_MAX_DAYS = envint("API_TOKEN_MAX_DAYS", 365)

# Logging: to stderr, through a filter that strips addresses and user agents.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"privacy": {"()": "safepassage.lib.privacy.PrivacyLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["privacy"],
        },
    },
    "root": {"handlers": ["stderr"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # gunicorn names the client in "Invalid request from ip=..."; the filter takes it out.
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}

# Demo accounts share one TOTP secret so people and browser tests can log in (never in production).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 (public on purpose)
