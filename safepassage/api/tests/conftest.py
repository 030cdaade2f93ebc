"""Partner API tokens for the tests: olga issues them for the Russian LGBT Network, otto for Rainbow Railroad."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from safepassage.accounts.models import Organisation, User
from safepassage.accounts.roles import Action
from safepassage.api.models import ApiToken
from safepassage.api.services import api_token_create

IssueToken = Callable[..., tuple[ApiToken, str]]


@pytest.fixture
def issue_token(people: dict[str, Any]) -> IssueToken:
    """Issues a token the way the staff page does: for the org admin's organisation."""

    def issue(
        by: User | None = None,
        *,
        name: str = "Case system",
        actions: Iterable[str] = (Action.API_PARTNER_READ.value,),
        days: int = 90,
    ) -> tuple[ApiToken, str]:
        by = by or people["olga"]
        org = Organisation.objects.get(pk=min(by.orgs_where(Action.API_TOKENS_MANAGE)))
        return api_token_create(by=by, organisation=org, name=name, actions=list(actions), days=days)

    return issue


@pytest.fixture
def moscow_token(issue_token: IssueToken) -> tuple[ApiToken, str]:
    """The Russian LGBT Network's case system token, issued by olga, allowed to read the profile."""
    return issue_token()
