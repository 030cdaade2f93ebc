"""The documentation that is generated from code stays equal to it."""

from pathlib import Path

from safepassage.accounts.roles import matrix_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_permission_table_in_the_docs_matches_the_code() -> None:
    assert matrix_markdown() in (DOCS / "permissions.md").read_text(encoding="utf-8"), (
        "run `safepassage permissions` and paste the table into docs/permissions.md"
    )
