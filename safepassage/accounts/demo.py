"""The demo scenario of spring 2017: five organisations and one person for every role.

Loaded idempotently by `safepassage demo`; later issues add their rooms' data here.
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import transaction

from safepassage.accounts.models import Membership, Organisation, User
from safepassage.accounts.roles import Role

DEMO_PASSWORD = "passage-demo-2017"  # noqa: S105 (printed on purpose; demo mode only)

ORGANISATIONS = [
    ("Russian LGBT Network", Organisation.Kind.LOCAL_GROUP, "RU", "Moscow"),
    ("Rainbow Railroad", Organisation.Kind.RELOCATION_NGO, "CA", "Toronto"),
    ("Regnbågsfonden", Organisation.Kind.FUND, "SE", "Stockholm"),
    ("RFSL", Organisation.Kind.FEDERATION, "SE", "Stockholm"),
    ("Ministry of Foreign Affairs of Lithuania", Organisation.Kind.GOVERNMENT, "LT", "Vilnius"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    organisation: str
    role: Role


LOGINS = [
    DemoLogin("caseworker", "Russian LGBT Network", Role.CASEWORKER),
    DemoLogin("coordinator", "Rainbow Railroad", Role.COORDINATOR),
    DemoLogin("liaison", "Ministry of Foreign Affairs of Lithuania", Role.LIAISON),
    DemoLogin("treasurer", "Regnbågsfonden", Role.TREASURER),
    DemoLogin("researcher", "RFSL", Role.RESEARCHER),
    DemoLogin("orgadmin", "Russian LGBT Network", Role.ORG_ADMIN),
    DemoLogin("auditor", "Russian LGBT Network", Role.AUDITOR),
    DemoLogin("platformadmin", "RFSL", Role.PLATFORM_ADMIN),
]


def load_demo() -> list[DemoLogin]:
    """Create what is missing; leave what exists. Running it twice changes nothing."""
    with transaction.atomic():
        orgs = {}
        for name, kind, country, city in ORGANISATIONS:
            orgs[name], _created = Organisation.objects.get_or_create(
                name=name, defaults={"kind": kind, "country": country, "city": city}
            )
        for login in LOGINS:
            user = User.objects.filter(username=login.username).first()
            if user is None:
                user = User(username=login.username)
                user.set_password(DEMO_PASSWORD)
                # The demo's platform admin holds a vault share, so the web unseal can be tried.
                user.is_trustee = login.role == Role.PLATFORM_ADMIN
                user.save()
            Membership.objects.get_or_create(
                user=user, organisation=orgs[login.organisation], role=login.role
            )
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                Authenticator.objects.create(
                    user=user,
                    type=Authenticator.Type.TOTP,
                    data={"secret": get_adapter().encrypt(settings.DEMO_TOTP_SECRET)},
                )
        _receivers(orgs)
    return LOGINS


def _receivers(orgs: dict[str, Organisation]) -> None:
    """The Moscow group and the relocation NGO take help requests; the region decides when the requester
    lets them."""
    from safepassage.intake.models import Receiver, Region, RoutingRule

    for name in ("Russian LGBT Network", "Rainbow Railroad"):
        Receiver.objects.get_or_create(organisation=orgs[name], defaults={"public_name": name})
    if not RoutingRule.objects.exists():
        for order, (region, name) in enumerate(
            [
                (Region.CHECHNYA, "Russian LGBT Network"),
                (Region.NORTH_CAUCASUS, "Russian LGBT Network"),
                (Region.RUSSIA, "Russian LGBT Network"),
                (Region.ABROAD, "Rainbow Railroad"),
            ]
        ):
            RoutingRule.objects.create(order=order, region=region, receiver_id=orgs[name].pk)


def load_demo_request() -> str | None:
    """One help request as a requester would send it (once; needs the vault's intake keys). Returns its
    codename when it was made now, so the demo can print it."""
    from safepassage.intake import services
    from safepassage.intake.models import HelpRequest

    if HelpRequest.objects.exists():
        return None
    submission = services.Submission(
        situation=(
            "Меня задержали в Аргуне и держали два дня. Отпустили, но сказали, что вернутся. "
            "Родственники знают. Я боюсь оставаться дома."
        ),
        location="Аргун, у знакомых",
        region="chechnya",
        urgency="emergency",
        needs=["shelter", "leave"],
        contact="",
        language="ru",
    )
    return services.request_submit(submission, [])
