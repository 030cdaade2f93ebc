"""The bench's URLs: the whole site, plus one staff-like page of specimens in two versions, and the help form
storing in plain columns (the intake benchmark's baseline, bench.intake_views).

Both render page 1 of the organisation's specimens ordered by code (50 rows, three fields each) with the same
template; one reads the sealed `Specimen` rows through `with_keys()` and `opened()` (keys joined into the page's
query), the other the plain `PlainSpecimen` rows. Both fetch only the columns they show.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from bench.intake import PLAIN_PATH as INTAKE_PLAIN_PATH
from bench.intake_views import help_form_plain
from bench.vault import PAGE_SIZE, organisation_of
from safepassage import urls as site
from safepassage.accounts.rules import login_only
from safepassage.vault.fields import opened, with_keys
from tests.specimens.models import PlainSpecimen, Specimen

TEMPLATE = "bench/specimens.html"
SEALED_PATH = "/bench/specimens/sealed/"
PLAIN_PATH = "/bench/specimens/plain/"


SHOWN_COLUMNS = ("code", "name", "contact", "location")


def _page(request: HttpRequest, rows: QuerySet[Any]) -> Page[Any]:
    """A list page fetches the columns it shows, sealed or plain alike."""
    return Paginator(rows.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
@login_only
def specimens_sealed(request: HttpRequest) -> HttpResponse:
    organisation_id = organisation_of(request.user)
    rows = Specimen.objects.filter(organisation_id=organisation_id).only(*SHOWN_COLUMNS, "data_key_id")
    page = _page(request, with_keys(rows, organisation_id))
    return render(request, TEMPLATE, {"page": page, "rows": opened(page.object_list, organisation_id)})


@require_GET
@login_only
def specimens_plain(request: HttpRequest) -> HttpResponse:
    organisation_id = organisation_of(request.user)
    page = _page(request, PlainSpecimen.objects.filter(organisation_id=organisation_id).only(*SHOWN_COLUMNS))
    return render(request, TEMPLATE, {"page": page, "rows": page.object_list})


urlpatterns = [
    *site.urlpatterns,
    path(SEALED_PATH.lstrip("/"), specimens_sealed, name="bench_specimens_sealed"),
    path(PLAIN_PATH.lstrip("/"), specimens_plain, name="bench_specimens_plain"),
    path(INTAKE_PLAIN_PATH.lstrip("/"), help_form_plain, name="bench_intake_plain"),
]

handler400 = site.handler400
handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500
