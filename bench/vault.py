"""The vault's part of the bench, in the bench process: unseal the bench's own vault, seed the specimens, and
measure field encryption and decryption per second and what one page of sealed rows costs, piece by piece.

The bench's vault protects only synthetic specimens, so its two shares are kept under var/bench/ (mode 0600,
like the secret key) to unseal it again on the next run. When they are gone (`make clean`) or do not open the
database's vault (another BENCH_DATABASE_URL), that vault is reset and made again: nothing in it is anyone's data. The master key is in tmpfs
only while the bench runs: `seal()` ends every run.

Django models are imported inside the functions: they need the app registry that bench.seed.setup_django fills.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.environment import BENCH_DIR

SHARES_FILE = BENCH_DIR / "vault-shares.json"
SEEDED = 500  # rows of each kind
PAGE_SIZE = 50
SEALED = ("name", "contact", "location", "narrative", "notes")
SHOWN = ("name", "contact", "location")  # what the page shows of each row
# A realistic field: 60 characters of Cyrillic and digits, 93 bytes of UTF-8.
FIELD_VALUE = "Магомед Ибрагимов, Грозный, ул. Ленина 5, кв. 12, +7 916 555"
MICRO_OPS = 20_000  # per batch
MICRO_BATCHES = 7
BREAKDOWN_REPS = 40


def organisation_of(user: Any) -> int:
    """The organisation whose specimens the bench user's page shows: its first membership's."""
    memberships = user.active_memberships()
    if not memberships:
        raise BenchError(f"{user.get_username()!r} belongs to no organisation")
    organisation_id: int = memberships[0].organisation_id
    return organisation_id


# ---------------------------------------------------------------------------------------------------- the vault


def _read_shares() -> list[str]:
    try:
        shares = json.loads(SHARES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [s for s in shares if isinstance(s, str)] if isinstance(shares, list) else []


def _write_shares(shares: list[str]) -> None:
    tmp = SHARES_FILE.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(shares, handle)
    os.replace(tmp, SHARES_FILE)


def _reset_vault() -> None:
    """Removes a vault whose shares the bench no longer has, with everything sealed under it (specimens and the
    intake's help requests only: seed() has checked that the database holds nothing but the demo)."""
    from django.db import transaction

    from bench.intake import purge
    from safepassage.vault.models import DataKey, DataKeyWrap, IntakeKey, OrganisationKey, VaultState
    from tests.specimens.models import Specimen

    purge()  # help requests the intake's part left (a run stopped midway) hold on to their data keys
    with transaction.atomic():
        Specimen.objects.all().delete()
        IntakeKey.objects.all().delete()
        DataKeyWrap.objects.all().delete()
        DataKey.objects.all().delete()
        OrganisationKey.objects.all().delete()
        VaultState.objects.all().delete()


def unseal() -> str:
    """Unseals the bench's vault with its stored shares, making the vault first if need be; says what it did."""
    from safepassage.vault import keyring, services
    from safepassage.vault.keyring import VaultError

    keyring.runtime_dir()  # refuses a directory not on tmpfs, or someone else's
    # Whatever a run that was killed left in tmpfs goes: only the stored shares decide which key is used.
    keyring.forget_everything()
    shares = _read_shares()
    if services.vault_state() is not None:
        if shares:
            try:
                for share in shares:
                    services.vault_add_share(mnemonic=share)
            except VaultError:
                keyring.forget_everything()
            if not keyring.is_sealed():
                return "unsealed the bench's vault"
        _reset_vault()
        done = "reset a vault the stored shares do not open, and made a new one"
    else:
        done = "made the bench's vault"
    shares = services.vault_init(shares=2, threshold=2)
    _write_shares(shares)
    for share in shares:
        services.vault_add_share(mnemonic=share)
    if keyring.is_sealed():
        raise BenchError("the bench's new vault did not unseal")
    return done


def seal() -> None:
    """Removes the master key from tmpfs, and the runtime directory with it."""
    from django.conf import settings

    from safepassage.vault import keyring

    keyring.forget_everything()
    shutil.rmtree(Path(settings.VAULT_RUNTIME_DIR), ignore_errors=True)


# -------------------------------------------------------------------------------------------------- the specimens

_FIRST = ["Магомед", "Ислам", "Руслан", "Анна", "Екатерина", "Дмитрий", "Зарема", "Алексей", "Мария", "Тимур"]
_LAST = ["Ибрагимов", "Кадыров", "Смирнова", "Волков", "Абдулаева", "Петров", "Мусаев", "Соколова", "Ахмедов"]
_CITIES = ["Грозный", "Махачкала", "Назрань", "Москва", "Казань", "Ереван", "Тбилиси", "Алматы"]
_STREETS = ["ул. Ленина", "пр. Мира", "ул. Гагарина", "ул. Пушкина", "ул. Садовая", "пер. Школьный"]
_STORY = [
    "Просит помощи с выездом: угрозы от родственников после того, как узнали.",
    "Паспорт у отца, загранпаспорта нет; нужна консультация по документам.",
    "Живёт у знакомых, денег на билет нет, связь только через Telegram.",
    "Был задержан, отпустили без протокола, телефон проверяли.",
    "Готова выехать в течение недели, виза в Армению не нужна.",
    "Нужен безопасный адрес на две недели и психолог, говорящий по-русски.",
]


def specimen_values(index: int) -> dict[str, str]:
    """The deterministic values of specimen INDEX, the same for the sealed and the plain table."""
    rng = random.Random(20_26_11_23 + index)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "code": f"SP-{index:04d}",
        "name": f"{first} {last}",
        "contact": f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-"
        f"{rng.randint(10, 99)}, @{last.lower()[:4]}{rng.randint(10, 99)}",
        "location": f"{rng.choice(_CITIES)}, {rng.choice(_STREETS)}, д. {rng.randint(1, 120)}, "
        f"кв. {rng.randint(1, 300)}",
        "narrative": " ".join(rng.choice(_STORY) for _ in range(8)),
        "notes": " ".join(rng.choice(_STORY) for _ in range(2)),
    }


def _intact(organisation_id: int, expected: list[dict[str, str]]) -> bool:
    """Both tables hold exactly the expected rows, and every sealed one opens to its values."""
    from safepassage.vault.crypto import Undecryptable
    from safepassage.vault.fields import opened
    from tests.specimens.models import PlainSpecimen, Specimen

    by_code = {values["code"]: values for values in expected}
    plain = list(PlainSpecimen.objects.filter(organisation_id=organisation_id))
    sealed = list(Specimen.objects.filter(organisation_id=organisation_id))
    if len(plain) != len(expected) or len(sealed) != len(expected):
        return False
    for row in plain:
        values = by_code.get(row.code)
        if values is None or any(getattr(row, name) != values[name] for name in SEALED):
            return False
    try:
        for view in opened(sealed, organisation_id):
            values = by_code.get(view.code)
            if (
                not view.available
                or values is None
                or any(getattr(view, name) != values[name] for name in SEALED)
            ):
                return False
    except Undecryptable:  # sealed by an older version of the key scheme: seed again
        return False
    return True


def seed_specimens(organisation_id: int) -> str:
    """SEEDED rows in each table for the organisation, the same values in both; says what it did."""
    from django.db import transaction

    from safepassage.vault import crypto
    from safepassage.vault.models import DataKey
    from tests.specimens.models import PlainSpecimen, Specimen

    expected = [specimen_values(index) for index in range(SEEDED)]
    if _intact(organisation_id, expected):
        return f"{SEEDED} sealed and {SEEDED} plain specimens in place"
    step = time.monotonic()
    old_keys = list(
        Specimen.objects.filter(organisation_id=organisation_id).values_list("data_key_id", flat=True)
    )
    with transaction.atomic():
        Specimen.objects.filter(organisation_id=organisation_id).delete()
        PlainSpecimen.objects.filter(organisation_id=organisation_id).delete()
    for data_key_id in old_keys:
        crypto.data_key_destroy(data_key_id)  # forgets the shred secret too
    DataKey.objects.filter(pk__in=old_keys).delete()
    PlainSpecimen.objects.bulk_create(
        PlainSpecimen(organisation_id=organisation_id, **values) for values in expected
    )
    for values in expected:
        record = Specimen(organisation_id=organisation_id, code=values["code"])
        record.seal_for([organisation_id])
        for name in SEALED:
            setattr(record, name, values[name])
        record.save()
    if not _intact(organisation_id, expected):
        raise BenchError("the specimens just seeded do not read back as they were written")
    return f"seeded {SEEDED} sealed and {SEEDED} plain specimens in {time.monotonic() - step:.1f} s"


# ----------------------------------------------------------------------------------------------- the measurements


def _rate(operation: Callable[[], object]) -> float:
    """Operations per second: the median of MICRO_BATCHES batches of MICRO_OPS calls."""
    rates = []
    for _ in range(MICRO_BATCHES):
        start = time.perf_counter()
        for _ in range(MICRO_OPS):
            operation()
        rates.append(MICRO_OPS / (time.perf_counter() - start))
    return statistics.median(rates)


def _median_ms(operation: Callable[[], object]) -> float:
    times = []
    for _ in range(BREAKDOWN_REPS):
        start = time.perf_counter()
        operation()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@dataclass(frozen=True)
class Micro:
    encryptions_per_s: float
    decryptions_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "encryptions_per_s": round(self.encryptions_per_s),
            "decryptions_per_s": round(self.decryptions_per_s),
            "value_chars": len(FIELD_VALUE),
            "value_utf8_bytes": len(FIELD_VALUE.encode()),
            "method": f"field_seal / field_open with a record key, AES-256-GCM; median of {MICRO_BATCHES} "
            f"batches of {MICRO_OPS} calls in the bench process, one thread",
        }


def micro(organisation_id: int) -> Micro:
    """Field encryptions and decryptions per second, with a real record key and place."""
    from safepassage.vault import crypto
    from tests.specimens.models import Specimen

    record = Specimen.objects.filter(organisation_id=organisation_id).order_by("code").first()
    if record is None:
        raise BenchError("no specimen to take a record key from")
    key = crypto.data_key_open(record.data_key_id, organisation_id)
    table, pk = Specimen._meta.db_table, record.pk
    blob = crypto.field_seal(key, table=table, field="name", pk=pk, value=FIELD_VALUE)
    if crypto.field_open(key, table=table, field="name", pk=pk, blob=blob) != FIELD_VALUE:
        raise BenchError("a field did not decrypt to what was encrypted")
    return Micro(
        encryptions_per_s=_rate(
            lambda: crypto.field_seal(key, table=table, field="name", pk=pk, value=FIELD_VALUE)
        ),
        decryptions_per_s=_rate(lambda: crypto.field_open(key, table=table, field="name", pk=pk, blob=blob)),
    )


def breakdown(organisation_id: int) -> dict[str, Any]:
    """Medians, in this process, of what the views do apart from rendering, so a slower page can be explained:
    the rows of page 1 (the sealed ones with their keys' wraps joined in), opening those 50 keys (organisation
    key, shred store, unwraps) and the 150 decryptions."""
    from bench.vault_urls import SHOWN_COLUMNS
    from safepassage.vault.fields import opened, with_keys
    from tests.specimens.models import PlainSpecimen, Specimen

    def sealed_rows() -> list[Specimen]:
        rows = Specimen.objects.filter(organisation_id=organisation_id).only(*SHOWN_COLUMNS, "data_key_id")
        return list(with_keys(rows, organisation_id).order_by("code")[:PAGE_SIZE])

    def plain_rows() -> list[PlainSpecimen]:
        rows = PlainSpecimen.objects.filter(organisation_id=organisation_id).only(*SHOWN_COLUMNS)
        return list(rows.order_by("code")[:PAGE_SIZE])

    rows = sealed_rows()
    keys_ms = _median_ms(lambda: opened(rows, organisation_id))

    def decrypt_shown_ms() -> float:
        views = opened(rows, organisation_id)  # fresh views: nothing decrypted yet
        start = time.perf_counter()
        for view in views:
            for name in SHOWN:
                getattr(view, name)
        return (time.perf_counter() - start) * 1000

    decrypt_ms = statistics.median(decrypt_shown_ms() for _ in range(BREAKDOWN_REPS))
    return {
        "sealed_rows_query_ms": round(_median_ms(sealed_rows), 3),
        "plain_rows_query_ms": round(_median_ms(plain_rows), 3),
        "record_keys_open_ms": round(keys_ms, 3),
        "decrypt_150_fields_ms": round(decrypt_ms, 3),
        "method": f"median of {BREAKDOWN_REPS} repetitions in the bench process (test mode): page 1's "
        "rows as the views query them (sealed: with_keys); opened() on them, which opens the 50 record keys; "
        "the 150 shown fields read through fresh opened() views",
    }
