"""Settings of the bench process and of the server of the vault pages: the project's settings (whatever
SAFEPASSAGE_MODE says), plus the test-only specimens room and two bench pages over it.

The server of the other scenarios keeps safepassage.settings, as production has it.
"""

from __future__ import annotations

import copy

from safepassage.settings import *  # noqa: F403
from safepassage.settings import BASE_DIR, INSTALLED_APPS, TEMPLATES

INSTALLED_APPS = [*INSTALLED_APPS, "tests.specimens"]
ROOT_URLCONF = "bench.vault_urls"
TEMPLATES = copy.deepcopy(TEMPLATES)
TEMPLATES[0]["DIRS"] = [BASE_DIR / "bench" / "templates", BASE_DIR / "safepassage" / "templates"]
