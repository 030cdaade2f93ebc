"""The load driver: a few client threads on loopback, each interleaving the scenarios request by request."""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import BenchError


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    # A redirect to the login page here means the session was lost: the figures would be meaningless.
    needs_login: bool = False
    # A POST when set: its body is made afresh for each request (a form's one-time challenge) before the clock
    # starts, so only the request and its answer are timed.
    body: Callable[[], bytes] | None = None
    # When set, a 2xx answer counts only if its body holds these bytes (checked after the clock stops).
    expect: bytes = b""


@dataclass(frozen=True)
class Sample:
    scenario: str
    seconds: float
    status: int  # 0 when the connection failed before an answer
    unexpected: bool = False  # a 2xx answer without the scenario's expected text: an error


@dataclass(frozen=True)
class Result:
    samples: list[Sample]
    elapsed: float
    clients: int
    capped: bool  # the time cap ended the run before every round was done


class SessionLost(BenchError):
    """A logged-in scenario was sent to the login page."""


def _one(conn: http.client.HTTPConnection, scenario: Scenario) -> tuple[Sample, str]:
    body = None if scenario.body is None else scenario.body()
    content = b""
    start = time.perf_counter()
    try:
        conn.request("GET" if body is None else "POST", scenario.path, body=body, headers=scenario.headers)
        response = conn.getresponse()
        content = response.read()
        status, location = response.status, response.getheader("Location", "")
    except (OSError, http.client.HTTPException):
        conn.close()  # the next request opens a fresh connection
        status, location = 0, ""
    seconds = time.perf_counter() - start
    unexpected = bool(scenario.expect) and 200 <= status < 300 and scenario.expect not in content
    return Sample(scenario.name, seconds, status, unexpected), location


def _client(
    port: int,
    scenarios: list[Scenario],
    rounds: int,
    deadline: float,
    seed: int,
    out: list[Sample],
    failures: list[BaseException],
    stop: threading.Event,
) -> None:
    # Each round sends every scenario once, in a shuffled order, so none is favoured by position.
    order = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(rounds):
            if stop.is_set() or time.monotonic() >= deadline:
                return
            for scenario in order.sample(scenarios, len(scenarios)):
                sample, location = _one(conn, scenario)
                out.append(sample)
                if scenario.needs_login and 300 <= sample.status < 400 and "/accounts/login/" in location:
                    raise SessionLost(f"{scenario.path} redirected to the login page: the session was lost")
    except BaseException as exc:
        failures.append(exc)
        stop.set()
    finally:
        conn.close()


def drive(port: int, scenarios: list[Scenario], clients: int, rounds: int, time_cap: float) -> Result:
    """CLIENTS threads × ROUNDS rounds of every scenario, stopping early at TIME_CAP seconds."""
    outs: list[list[Sample]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    stop = threading.Event()
    start = time.monotonic()
    deadline = start + time_cap
    threads = [
        threading.Thread(
            target=_client,
            args=(port, scenarios, rounds, deadline, index, outs[index], failures, stop),
            name=f"bench-client-{index}",
        )
        for index in range(clients)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        # On Ctrl-C or SIGTERM the clients stop too, instead of running on against a stopped server.
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join()
    elapsed = time.monotonic() - start
    if failures:
        raise failures[0]
    samples = [sample for out in outs for sample in out]
    return Result(samples, elapsed, clients, capped=len(samples) < clients * rounds * len(scenarios))
