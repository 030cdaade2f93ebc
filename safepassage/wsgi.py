"""WSGI entry point for gunicorn: `gunicorn safepassage.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safepassage.settings")
application = get_wsgi_application()
