"""The `safepassage` command: Django's manage.py commands plus ours (demo, audit, permissions, vault)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safepassage.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A setting the operator must give: say which, without a stack trace.
        sys.stderr.write(
            f"safepassage: {exc}\n(For the demo: SAFEPASSAGE_MODE=demo; see docs/configuration.md.)\n"
        )
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
