"""Compile every .po under safepassage/locale to .mo with polib, so no GNU gettext is needed to run.

`python -m safepassage.lib.compilemessages` writes the .mo files; `compiled(po_path)` returns the bytes
a test compares with the committed file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compiled(po_path: Path) -> bytes:
    po = polib.pofile(str(po_path))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "django.mo"
        po.save_as_mofile(str(target))
        return target.read_bytes()


def main() -> int:
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        mo_path.write_bytes(compiled(po_path))
        print(f"compiled {mo_path.relative_to(LOCALE_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
