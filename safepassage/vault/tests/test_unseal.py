"""Trustees initialise, unseal with k of n shares from separate terminals, and seal the node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from safepassage.audit.models import AuditEntry
from safepassage.vault import keyring, services
from safepassage.vault.keyring import VaultError
from safepassage.vault.tests.terminal import terminal


@pytest.mark.smoke
def test_init_gives_n_shares_once(db: None, vault_runtime: Path) -> None:
    shares = services.vault_init(shares=3, threshold=2)
    assert len(shares) == 3 and all(len(s.split()) == 33 for s in shares)  # 256-bit key
    with pytest.raises(VaultError, match="initialised already"):
        services.vault_init(shares=3, threshold=2)
    assert keyring.is_sealed()
    assert not vault_runtime.exists() or not any(vault_runtime.iterdir())


def test_two_trustees_unseal_from_two_terminals(
    transactional_db: None, audit_table_truncatable: None, vault_runtime: Path
) -> None:
    shares = services.vault_init(shares=3, threshold=2)
    first = terminal(vault_runtime, "unseal", stdin=shares[2] + "\n")
    assert first.returncode == 0, first.stderr
    assert "1 of 2 shares entered; still sealed" in first.stdout
    assert terminal(vault_runtime, "status").stdout.strip() == "sealed (1 of 2 shares entered)"
    second = terminal(vault_runtime, "unseal", stdin=shares[0] + "\n")
    assert second.stdout.strip() == "unsealed"
    # This process and a freshly started one both see the node unsealed.
    assert not keyring.is_sealed()
    assert terminal(vault_runtime, "status").stdout.strip() == "unsealed"
    assert Client().get("/readyz").json() == {"status": "ready", "vault": "unsealed"}
    assert AuditEntry.objects.filter(action="vault.unseal").exists()


def test_sealing_makes_every_process_forget_the_key(
    transactional_db: None, audit_table_truncatable: None, vault_runtime: Path
) -> None:
    shares = services.vault_init(shares=2, threshold=2)
    for share in shares:
        services.vault_add_share(mnemonic=share)
    assert keyring.master_key() is not None
    assert terminal(vault_runtime, "seal").stdout.strip() == "sealed"
    assert keyring.master_key() is None  # this process, at its very next look
    assert terminal(vault_runtime, "status").stdout.strip().startswith("sealed")
    assert Client().get("/readyz").json()["vault"] == "sealed"


def test_a_mistyped_word_is_refused_with_a_clear_message(db: None, vault_runtime: Path) -> None:
    shares = services.vault_init(shares=3, threshold=2)
    words = shares[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(VaultError, match="mistyped"):
        services.vault_add_share(mnemonic=" ".join(words))
    assert services.vault_progress().have == 0


def test_a_share_of_another_initialisation_is_refused(db: None, vault_runtime: Path) -> None:
    services.vault_init(shares=3, threshold=2)
    import shamir_mnemonic

    stranger = shamir_mnemonic.generate_mnemonics(1, [(2, 3)], b"\x01" * 32, extendable=False)[0][0]
    with pytest.raises(VaultError, match="another initialisation"):
        services.vault_add_share(mnemonic=stranger)


def test_the_same_share_twice_does_not_unseal(db: None, vault_runtime: Path) -> None:
    shares = services.vault_init(shares=3, threshold=2)
    services.vault_add_share(mnemonic=shares[1])
    with pytest.raises(VaultError, match="entered already"):
        services.vault_add_share(mnemonic=shares[1].upper())
    assert keyring.is_sealed()


def test_the_command_line_says_what_is_wrong(
    db: None, vault_runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("vault", "status")
    assert capsys.readouterr().out.strip() == "not initialised"
    with pytest.raises(CommandError, match="not initialised"):
        call_command("vault", "unseal")


def test_unseal_material_never_goes_to_a_disk(db: None, settings: Any, tmp_path: Path) -> None:
    settings.VAULT_RUNTIME_DIR = str(tmp_path / "runtime")  # tmp_path is on the disk here
    shares = services.vault_init(shares=2, threshold=2)
    with pytest.raises(VaultError, match="not on tmpfs"):
        services.vault_add_share(mnemonic=shares[0])
    assert not (tmp_path / "runtime").exists()


def test_a_runtime_directory_open_to_others_is_refused(db: None, vault_runtime: Path) -> None:
    vault_runtime.mkdir(mode=0o777)
    vault_runtime.chmod(0o777)
    shares = services.vault_init(shares=2, threshold=2)
    with pytest.raises(VaultError, match="open to others"):
        services.vault_add_share(mnemonic=shares[0])


def test_shares_can_be_encrypted_to_each_trustees_age_key(
    db: None, vault_runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyrage

    trustees = [pyrage.x25519.Identity.generate() for _ in range(3)]
    args = [arg for t in trustees for arg in ("--age-recipient", str(t.to_public()))]
    call_command("vault", "init", "--shares", "3", "--threshold", "2", *args)
    out = capsys.readouterr().out
    blocks = [
        "-----BEGIN AGE ENCRYPTED FILE-----"
        + part.split("-----END AGE ENCRYPTED FILE-----")[0]
        + "-----END AGE ENCRYPTED FILE-----\n"
        for part in out.split("-----BEGIN AGE ENCRYPTED FILE-----")[1:]
    ]
    assert len(blocks) == 3
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(blocks[0].encode(), [trustees[1]])  # only the trustee's own key opens a share
    for block, trustee in list(zip(blocks, trustees, strict=True))[1:]:
        services.vault_add_share(mnemonic=pyrage.decrypt(block.encode(), [trustee]).decode())
    assert not keyring.is_sealed()


def test_a_wrong_age_key_leaves_the_vault_uninitialised(db: None, vault_runtime: Path) -> None:
    with pytest.raises(CommandError, match="not an age public key"):
        call_command(
            "vault",
            "init",
            "--shares",
            "2",
            "--threshold",
            "2",
            "--age-recipient",
            "age1nonsense",
            "--age-recipient",
            "age1other",
        )
    assert services.vault_state() is None
