"""Three languages: every message translated, compiled files up to date, locale-aware money."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.test import Client
from django.utils import translation

from safepassage.lib.compilemessages import LOCALE_DIR, compiled
from safepassage.lib.money import format_money

LANGUAGES = ["sv", "ru"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.smoke
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    po = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated in {language}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_the_po_file(language: str) -> None:
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    assert po_path.with_suffix(".mo").read_bytes() == compiled(po_path), "run `make messages`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_marked_string_is_in_the_catalogue(tmp_path: Path) -> None:
    """Extract the messages again into a copy and compare: a new string without a row fails."""
    copy = tmp_path / "safepassage"
    shutil.copytree(ROOT / "safepassage", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "sv", "--no-obsolete", "--no-location"],
        cwd=copy,
        check=False,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    fresh = {e.msgid for e in polib.pofile(str(copy / "locale" / "sv" / "LC_MESSAGES" / "django.po"))}
    committed = {e.msgid for e in polib.pofile(str(LOCALE_DIR / "sv" / "LC_MESSAGES" / "django.po"))}
    assert not fresh - committed, (
        f"not in the catalogue (run `make messages`): {sorted(fresh - committed)[:10]}"
    )


@pytest.mark.smoke
def test_money_is_formatted_per_locale() -> None:
    assert format_money(100000, "SEK", "sv") == "1\xa0000,00\xa0kr"
    assert format_money(100000, "SEK", "en") == "1,000.00\xa0SEK"
    assert format_money(12345, "SEK", "ru") == "123,45\xa0SEK"


@pytest.mark.smoke
def test_the_language_comes_from_the_browser_and_is_remembered(db: None) -> None:
    client = Client(headers={"accept-language": "ru"})
    page = client.get("/accounts/login/")
    assert page["Content-Language"] == "ru"
    assert '<html lang="ru">' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "sv", "next": "/accounts/login/"})
    again = client.get("/accounts/login/")
    assert '<html lang="sv">' in again.content.decode()


@pytest.mark.smoke
def test_pages_speak_swedish_and_russian(db: None) -> None:
    with translation.override("sv"):
        assert translation.gettext("Log in") != "Log in"
    with translation.override("ru"):
        assert translation.gettext("Log in") != "Log in"
