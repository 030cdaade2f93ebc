"""Step-up re-authentication for sensitive actions: the second factor again, at most 5 minutes old.

AccountAdapter.get_reauthentication_methods offers only second factors to a person who has one.

Use `@step_up` on a view (below the access decorators). A POST is kept while the person confirms
and then carried out (allauth's suspend/resume). ACCOUNT_REAUTHENTICATION_TIMEOUT sets the window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from allauth.account.decorators import reauthentication_required

F = TypeVar("F", bound=Callable[..., Any])


def step_up(view: F) -> F:
    """Every POST needs a fresh second factor; GET shows the page as usual."""
    wrapped: F = reauthentication_required(view, allow_get=True)
    return wrapped
