"""`safepassage permissions --markdown`: the permission matrix as a Markdown table (docs/permissions.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from safepassage.accounts.roles import matrix_markdown


class Command(BaseCommand):
    help = "Print the role × action permission matrix as Markdown."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(matrix_markdown(), ending="")
