"""`vault rotate`: new master key and shares, every key re-wrapped while serving, resumable after kill -9."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from safepassage.accounts.models import Organisation
from safepassage.vault import blind, intake, keyring, rotation, services
from safepassage.vault.fields import opened
from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import vault_root
from safepassage.vault.models import DataKeyWrap, OrganisationKey, VaultState
from safepassage.vault.tests.terminal import ROOT, terminal, terminal_env, vault_command
from tests.specimens.models import Specimen


def _specimens(organisation: Any, count: int, prefix: str = "name") -> list[Specimen]:
    made = []
    for i in range(count):
        record = Specimen(organisation=organisation, code=f"{prefix}-{i}")
        record.seal_for([organisation.pk])
        record.name = f"{prefix} {i} Магомед"
        record.save()
        made.append(record)
    return made


def _names(organisation: Any) -> list[str]:
    rows = Specimen.objects.filter(organisation=organisation).order_by("code")
    return [view.name for view in opened(rows, organisation.pk)]


def _unseal_with(shares: list[str]) -> None:
    for share in shares:
        services.vault_add_share(mnemonic=share)


def test_rotation_rewraps_everything_and_retires_the_old_shares(
    unsealed: list[str], orgs: dict[str, Any]
) -> None:
    moscow, railroad = orgs["moscow"], orgs["railroad"]
    records = _specimens(moscow, 7) + _specimens(railroad, 3, "other")
    from safepassage.vault import crypto

    crypto.data_key_share(
        data_key_id=records[0].data_key_id, from_organisation_id=moscow.pk, to_organisation_id=railroad.pk
    )
    index_before = blind.blind_index("name", "Магомед")
    root_before = vault_root()
    request = intake.intake_seal(moscow.pk, b"help", place="intake/body/1")
    before = (_names(moscow), _names(railroad))

    shown: list[list[str]] = []
    rotation.rotate(show_shares=shown.append, shares=3, threshold=2, batch=4)

    [new_shares] = shown
    assert len(new_shares) == 3
    assert (_names(moscow), _names(railroad)) == before
    assert opened([records[0]], railroad.pk)[0].name == "name 0 Магомед", "the referral survives"
    assert VaultState.objects.get().generation == 2
    assert not OrganisationKey.objects.filter(generation=1).exists(), "the old generation is gone"
    assert not DataKeyWrap.objects.filter(organisation_key__generation=1).exists()
    assert blind.blind_index("name", "Магомед") == index_before, "blind indexes keep working"
    assert vault_root() == root_before, "checkpoint files keep verifying"
    assert intake.intake_open(moscow.pk, request, place="intake/body/1") == b"help"

    services.vault_seal()
    with pytest.raises(VaultError, match="another initialisation"):
        services.vault_add_share(mnemonic=unsealed[0])
    _unseal_with(new_shares[1:])
    assert _names(moscow) == before[0]


def test_a_rotation_on_a_node_that_lost_its_new_key_starts_again(
    unsealed: list[str], orgs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _specimens(orgs["moscow"], 5)
    shown: list[list[str]] = []

    def killed(seconds: float) -> None:
        raise KeyboardInterrupt  # the operator's ^C, after the first batch

    monkeypatch.setattr(time, "sleep", killed)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(show_shares=shown.append, batch=2, pause=1)
    assert VaultState.objects.get().next_key_check
    services.vault_seal()  # the node is sealed mid-rotation: the new key in tmpfs is gone
    _unseal_with(unsealed)
    monkeypatch.undo()
    lines: list[str] = []
    rotation.rotate(show_shares=shown.append, report=lines.append)
    assert any("starting again" in line for line in lines)
    assert len(shown) == 2, "a fresh set of shares for the fresh key"
    services.vault_seal()
    with pytest.raises(VaultError):
        _unseal_with(shown[0])
    services.vault_seal()
    _unseal_with(shown[1])
    assert len(_names(orgs["moscow"])) == 5


@pytest.mark.django_db(transaction=True)
def test_rotation_killed_midway_resumes_and_loses_nothing(
    audit_table_truncatable: None, unsealed: list[str], orgs: dict[str, Any], vault_runtime: Path
) -> None:
    moscow = orgs["moscow"]
    _specimens(moscow, 120)
    expected = _names(moscow)
    process = subprocess.Popen(
        vault_command(vault_runtime, "rotate", "--batch", "5", "--pause", "0.2"),
        cwd=ROOT,
        env=terminal_env(vault_runtime),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while DataKeyWrap.objects.filter(organisation_key__generation=2).count() < 20:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the rotation did not start"
            time.sleep(0.05)
        assert _names(moscow) == expected, "the server keeps serving during the rotation"
        late = _specimens(moscow, 1, "late")  # made while the rotation runs
    finally:
        process.send_signal(signal.SIGKILL)
    output, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL
    new_shares = re.findall(r"Share \d:\n(.+)\n", output)
    assert len(new_shares) == 2, output
    assert VaultState.objects.get().generation == 1, "killed before the switch"
    assert "a rotation is under way" in terminal(vault_runtime, "status").stdout
    assert DataKeyWrap.objects.filter(organisation_key__generation=2).count() < 121

    resumed = terminal(vault_runtime, "rotate")
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stdout and "Share 1" not in resumed.stdout
    assert VaultState.objects.get().generation == 2
    assert DataKeyWrap.objects.filter(organisation_key__generation=2).count() == 121
    assert not DataKeyWrap.objects.filter(organisation_key__generation=1).exists()
    everything = {*expected, "late 0 Магомед"}
    assert set(_names(moscow)) == everything, "nothing lost, including a record made mid-rotation"
    assert opened(late, moscow.pk)[0].name == "late 0 Магомед"

    services.vault_seal()
    assert keyring.is_sealed()
    for share in new_shares:
        services.vault_add_share(mnemonic=share)
    assert set(_names(moscow)) == everything, "the shares shown before the kill unseal the rotated vault"


def test_a_rotation_stopped_right_after_its_switch_is_finished_by_the_next_run(
    unsealed: list[str], orgs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _specimens(orgs["moscow"], 3)
    expected = _names(orgs["moscow"])
    shown: list[list[str]] = []

    def killed() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(keyring, "promote_next_key", killed)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(show_shares=shown.append)
    assert VaultState.objects.get().generation == 2
    assert _names(orgs["moscow"]) == expected, "readers bridge the instant before the new key is in place"
    # Meanwhile a new organisation comes, with a record and an intake request: under the new key, not the old.
    newcomer = Organisation.objects.create(name="Newcomer")
    _specimens(newcomer, 1, "new")
    request = intake.intake_seal(newcomer.pk, b"help", place="intake/body/9")
    monkeypatch.undo()
    rotation.rotate(show_shares=shown.append)
    assert len(shown) == 1 and VaultState.objects.get().generation == 2
    assert not OrganisationKey.objects.filter(generation=1).exists()
    services.vault_seal()
    _unseal_with(shown[0])
    assert _names(orgs["moscow"]) == expected
    assert _names(newcomer) == ["new 0 Магомед"]
    assert intake.intake_open(newcomer.pk, request, place="intake/body/9") == b"help"


def test_a_panic_during_a_rotation_stops_it(
    unsealed: list[str], orgs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _specimens(orgs["moscow"], 5)
    monkeypatch.setattr(time, "sleep", lambda seconds: services.vault_seal())
    with pytest.raises(VaultError, match="sealed during the rotation"):
        rotation.rotate(show_shares=lambda shares: None, batch=2, pause=1)
    assert VaultState.objects.get().generation == 1
    monkeypatch.undo()
    _unseal_with(unsealed)
    assert len(_names(orgs["moscow"])) == 5, "the old shares still unseal: the rotation never switched"


def test_only_one_rotation_runs_at_a_time(unsealed: list[str]) -> None:
    with keyring.rotation_lock(), pytest.raises(VaultError, match="Another"):
        rotation.rotate(show_shares=lambda shares: None)


def test_a_node_left_with_an_old_key_stops_instead_of_writing(
    unsealed: list[str], orgs: dict[str, Any], settings: Any
) -> None:
    from safepassage.vault.keys import StaleKey

    settings.VAULT_VERIFY_SECONDS = 0
    _specimens(orgs["moscow"], 1)
    VaultState.objects.update(key_check="0" * 64)  # another node rotated the vault
    with pytest.raises(StaleKey):
        _names(orgs["moscow"])
    with pytest.raises(StaleKey):
        _specimens(orgs["railroad"], 1)
