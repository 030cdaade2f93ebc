"""Authentication: allauth's backend, without telling a guesser that a disabled account's password was right."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend


class AuthenticationBackend(AllauthBackend):  # type: ignore[misc]
    @classmethod
    def _stash_user(cls, user: Any) -> Any:
        # allauth remembers a disabled account whose password matched, to show "account inactive".
        # That answer tells whoever holds a stolen password that it works and was noticed; a
        # disabled account gets the same answer as a wrong password instead.
        return None
