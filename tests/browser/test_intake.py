"""The public help form in the real browser, as a persecuted person meets it: without JavaScript and in Russian
they ask for help and get a codename; a caseworker of the receiving organisation reads the request and answers;
with the codename they read the answer. The same again with the requester's pages served by the public face, a
process of its own under its restricted PostgreSQL role, and the caseworker on the staff face. The public pages
load nothing from another host, stay small for a slow connection, fit a phone, and show the quick exit first.

Screenshots go to var/screenshots/ (phone-intake-*.png), beside the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Locator, Page, Request, Response, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD, TOTP_SECRET
from safepassage.intake.models import Receiver
from safepassage.lib.totp import totp_code
from tests.browser.conftest import (
    SECOND_STEP,
    NewContext,
    PublicFace,
    code_step,
    password_step,
    shoot,
)

SITUATION = "Меня ищут родственники. Мне нужно уехать как можно скорее."
LOCATION = "Грозный"
REPLY = "Мы вас слышим. Напишите, где вы сможете встретиться с нашим человеком."
CASEWORKER = "alice"
ORGANISATION = "Russian LGBT Network"  # orgs["moscow"]: never shown to the requester
MOSCOW = "Moscow group"  # its public name, which the requester chooses from
PHONE = {"width": 360, "height": 740}
PAGE_BUDGET = 30 * 1024  # bytes: a page's HTML and its CSS together

# The Russian the requester sees (safepassage/locale/ru/LC_MESSAGES/django.po).
RU = {
    "heading": "Попросить о помощи",
    "situation": "Что происходит?",
    "location": "Где вы сейчас?",
    "urgent": "Опасность прямо сейчас",
    "need": "Уехать из страны",
    "receiver": "Кому это отправить?",
    "consent": "Я знаю, кто это прочитает, и даю согласие.",
    "send": "Отправить",
    "sent": "Ваш запрос отправлен",
    "codename": "Ваше кодовое имя",
    "open": "Открыть",
    "messages": "Ваши сообщения",
    "exit": "Уйти со страницы",
}


@pytest.fixture
def receivers(unsealed: list[str], orgs: dict[str, Any]) -> dict[str, Receiver]:
    """Two organisations take requests (so the requester is offered a choice); the vault is unsealed, so both
    have intake keys."""
    return {
        "moscow": Receiver.objects.create(organisation=orgs["moscow"], public_name=MOSCOW),
        "railroad": Receiver.objects.create(organisation=orgs["railroad"], public_name="Railroad"),
    }


def requester_context(new_context: NewContext, **kwargs: Any) -> BrowserContext:
    """A browser that prefers Russian."""
    return new_context(locale="ru-RU", extra_http_headers={"Accept-Language": "ru-RU,ru;q=0.9"}, **kwargs)


def send(page: Page, button: Locator) -> None:
    """Presses the form's button; the server must take the POST (a refusal shows a page that looks normal)."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        button.click()
    response = posted.value
    assert response.status == 200, (
        f"POST {response.url} answered {response.status} (Origin: {response.request.header_value('origin')})"
    )


def open_the_form(page: Page) -> None:
    page.goto("/help/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text(RU["heading"])


def fill_the_form(page: Page) -> None:
    """The open form, filled in Russian as a person does, Moscow chosen as receiver; waits for the codename page."""
    page.get_by_label(RU["situation"]).fill(SITUATION)
    page.get_by_label(RU["location"]).fill(LOCATION)
    page.get_by_role("radio", name=RU["urgent"]).check()
    page.get_by_role("checkbox", name=RU["need"]).check()
    page.get_by_label(RU["receiver"]).select_option(label=MOSCOW)
    page.get_by_role("checkbox", name=RU["consent"]).check()
    send(page, page.get_by_role("button", name=RU["send"], exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(RU["sent"])


def codename_on(page: Page) -> str:
    codename = page.locator("#codename").inner_text().strip()
    assert re.fullmatch(r"[a-z\-]+( [a-z\-]+){6}", codename), f"not seven words: {codename!r}"
    return codename


def open_mailbox(page: Page, codename: str) -> None:
    page.goto("/help/mailbox/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_label(RU["codename"]).fill(codename)
    send(page, page.get_by_role("button", name=RU["open"], exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(RU["messages"])


def assert_nothing_of_the_staff(page: Page) -> None:
    """The requester's page names neither the caseworker nor the organisation, visibly or in the markup.
    ("alice" as a word: the codename's word list has "chalice".)"""
    for text in (page.content(), page.locator("body").inner_text()):
        assert not re.search(rf"\b{CASEWORKER}\b", text, re.IGNORECASE), f"{page.url} names the caseworker"
        assert ORGANISATION not in text, f"{page.url} names the organisation"


def caseworker_logs_in(page: Page) -> None:
    """The real log-in page: password, then the code from the authenticator app (the `people` fixture's TOTP)."""
    password_step(page, CASEWORKER, PASSWORD)
    page.wait_for_url(f"**{SECOND_STEP}")
    code_step(page, totp_code(TOTP_SECRET))
    page.wait_for_url("**/home/")


def asked_answered_and_read(requester: Page, caseworker: Page) -> str:
    """The whole flow: the requester asks in Russian and gets a codename; the caseworker logs in, reads the
    request and replies; the requester comes back with the codename and reads the reply. Each on the server its
    context was made for. The codename."""
    open_the_form(requester)
    assert_nothing_of_the_staff(requester)
    fill_the_form(requester)
    assert_nothing_of_the_staff(requester)
    codename = codename_on(requester)

    caseworker_logs_in(caseworker)
    caseworker.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text("Help requests")
    row = caseworker.locator("table.inbox tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("In danger now")
    expect(row).to_contain_text("Leaving the country")
    row.get_by_role("link", name="Open").click()
    main = caseworker.locator("main")
    expect(main).to_contain_text(SITUATION)
    expect(main).to_contain_text(LOCATION)
    expect(main).to_contain_text("Русский")  # written in
    caseworker.get_by_label("Reply to the requester").fill(REPLY)
    caseworker.get_by_role("button", name="Send reply").click()
    expect(caseworker.locator("ol.thread li.reply")).to_contain_text(REPLY)

    # The requester comes back later, JavaScript still off: the codename opens the answer.
    open_mailbox(requester, codename)
    expect(requester.locator("ol.thread li.reply")).to_contain_text(REPLY)
    assert_nothing_of_the_staff(requester)
    return codename


@pytest.mark.browser
def test_a_request_in_russian_without_javascript_is_answered_and_read_with_the_codename(
    new_context: NewContext, receivers: dict[str, Receiver], people: dict[str, Any]
) -> None:
    requester = requester_context(new_context, java_script_enabled=False).new_page()
    caseworker = new_context().new_page()
    asked_answered_and_read(requester, caseworker)


@pytest.mark.browser
def test_the_same_flow_passes_with_the_public_face_under_its_restricted_role(
    new_context: NewContext,
    live_server: LiveServer,
    receivers: dict[str, Receiver],
    people: dict[str, Any],
    public_face: PublicFace,
) -> None:
    """The requester's pages come from the public face, a process of its own logged in to PostgreSQL as the
    role of deploy/postgresql/public-face.sql; the caseworker uses the staff face (the live server)."""
    assert urlsplit(public_face.url).netloc != urlsplit(live_server.url).netloc
    # The requester's context may reach the public face only: nothing comes from the staff face.
    requester = requester_context(new_context, base_url=public_face.url, java_script_enabled=False).new_page()
    caseworker = new_context().new_page()
    codename = asked_answered_and_read(requester, caseworker)

    # It served all that as the role: its connections to the test database are the role's and no one else's...
    assert public_face.database_users() == {public_face.role.name}
    # ...which cannot read what it stored,
    refused = public_face.role.psql("SELECT situation FROM intake_helprequest")
    assert refused.returncode != 0 and "permission denied" in refused.stderr, (refused.stdout, refused.stderr)
    # and still the public face serves the form, and the codename opens the reply.
    open_the_form(requester)
    open_mailbox(requester, codename)
    expect(requester.locator("ol.thread li.reply")).to_contain_text(REPLY)
    assert public_face.database_users() == {public_face.role.name}
    # It serves nothing of the staff face.
    for path in ["/accounts/login/", "/requests/", "/admin/"]:
        response = requester.goto(path)
        assert response is not None and response.status == 404, f"the public face serves {path}"


@dataclass
class Recorder:
    """Every request a page makes, and the bytes of every response it gets, from one navigation to the next."""

    requests: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_response(self, response: Response) -> None:
        self.responses.append(response)

    def watch(self, page: Page) -> None:
        page.on("request", self.on_request)
        page.on("response", self.on_response)

    def take(self) -> tuple[list[str], dict[str, int]]:
        """The URLs requested since the last take, and the body size of each page and stylesheet by URL (the
        icon's body, fetched by the browser on its own time, may not be readable any more)."""
        requests, responses = self.requests, self.responses
        self.requests, self.responses = [], []
        return requests, {
            r.url: len(r.body())
            for r in responses
            if not 300 <= r.status < 400 and r.request.resource_type in {"document", "stylesheet"}
        }


@pytest.mark.browser
def test_the_public_pages_load_nothing_from_elsewhere_and_are_small(
    new_context: NewContext, live_server: LiveServer, receivers: dict[str, Receiver]
) -> None:
    host = urlsplit(live_server.url).netloc
    page = requester_context(new_context).new_page()
    recorder = Recorder()
    recorder.watch(page)
    # Sizes of the stylesheets seen so far: a later page may take them from the cache.
    css: dict[str, int] = {}
    sizes: dict[str, int] = {}

    def measure(name: str) -> None:
        page.wait_for_load_state("load")
        requested, bodies = recorder.take()
        assert requested, f"{name}: no request recorded"
        foreign = [url for url in requested if urlsplit(url).netloc != host]
        assert not foreign, f"{name} asked other hosts: {foreign}"
        html = bodies[page.url]
        css.update({url: size for url, size in bodies.items() if url.endswith(".css")})
        stylesheets = [
            urlsplit(href or "").path
            for href in page.locator("link[rel=stylesheet]").evaluate_all("links => links.map(l => l.href)")
        ]
        assert stylesheets, f"{name} has no stylesheet"
        sheet_sizes = [size for url, size in css.items() if urlsplit(url).path in stylesheets]
        assert len(sheet_sizes) == len(stylesheets), f"{name}: a stylesheet was not loaded: {stylesheets}"
        sizes[name] = html + sum(sheet_sizes)
        assert sizes[name] < PAGE_BUDGET, (
            f"{name} weighs {sizes[name]} bytes (HTML {html}, CSS {sheet_sizes})"
        )

    open_the_form(page)
    measure("form")
    fill_the_form(page)
    measure("codename")
    page.goto("/help/mailbox/")
    measure("mailbox")
    print(f"page sizes in bytes, HTML and CSS: {sizes}")  # for the report, with pytest -s


def assert_fits_the_width(page: Page, width: int) -> None:
    """Nothing sticks out sideways: a phone user should not have to scroll left and right."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


@pytest.mark.browser
def test_the_form_and_the_codename_fit_a_small_phone(
    new_context: NewContext, receivers: dict[str, Receiver]
) -> None:
    # JavaScript on, which evaluate needs; the pages themselves run none.
    context = requester_context(
        new_context, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    open_the_form(page)
    assert_fits_the_width(page, PHONE["width"])
    shoot(page, "phone-intake-form-ru")

    fill_the_form(page)
    codename_on(page)
    assert_fits_the_width(page, PHONE["width"])
    shoot(page, "phone-intake-codename-ru")


@pytest.mark.browser
def test_the_quick_exit_comes_first_and_leads_away(
    new_context: NewContext, receivers: dict[str, Receiver]
) -> None:
    page = requester_context(new_context, java_script_enabled=False, viewport=PHONE).new_page()
    for path in ["/help/", "/help/mailbox/"]:
        page.goto(path)
        exit_link = page.get_by_role("link", name=RU["exit"])
        expect(exit_link).to_be_visible()
        expect(exit_link).to_have_attribute("href", settings.INTAKE_QUICK_EXIT_URL)
        expect(exit_link).to_have_attribute("rel", re.compile(r"\bnoreferrer\b"))
        # The first link on the page (the first a keyboard reaches), and in the first screenful without scrolling.
        expect(page.locator("a[href]").first).to_have_text(RU["exit"])
        box = exit_link.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 80, (
            f"{path}: the exit is not at the top: {box}"
        )
