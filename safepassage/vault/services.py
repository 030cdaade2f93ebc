"""Initialise, unseal and seal the vault. Every step is audited; no share or key is ever logged."""

from __future__ import annotations

import secrets

import pyrage
import shamir_mnemonic
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from shamir_mnemonic.share import Share

from safepassage.audit.services import audit_record
from safepassage.vault import keyring
from safepassage.vault.intake import intake_keys_ensure
from safepassage.vault.keyring import Progress, VaultError
from safepassage.vault.keys import checkpoint_private_key, new_root, public_hex, wrap_root
from safepassage.vault.models import VaultState


def vault_state() -> VaultState | None:
    return VaultState.objects.filter(pk=1).first()


def check_split(*, shares: int, threshold: int) -> None:
    """A K-of-N the trustees may choose: checked before anything is made."""
    if not 1 <= threshold <= shares <= 16:
        raise VaultError(_("Choose 1 to 16 shares and a threshold between 1 and the number of shares."))
    if threshold == 1 and shares > 1:
        raise VaultError(_("A threshold of 1 with several shares lets any one trustee unseal alone."))


def split(master: bytes, *, shares: int, threshold: int) -> list[str]:
    """The master key as N SLIP-39 share mnemonics, any K of which rebuild it."""
    check_split(shares=shares, threshold=threshold)
    groups = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(threshold, shares)], master_secret=master, extendable=False
    )
    mnemonics: list[str] = groups[0]
    return mnemonics


def vault_init(*, shares: int, threshold: int, actor: object = None) -> list[str]:
    """Create the master key and return N share mnemonics, once. The master key is stored nowhere."""
    master = secrets.token_bytes(32)
    mnemonics = split(master, shares=shares, threshold=threshold)
    identifier = Share.from_mnemonic(mnemonics[0]).identifier
    root = new_root()
    try:
        with transaction.atomic():
            VaultState.objects.create(
                pk=1,
                identifier=identifier,
                threshold=threshold,
                share_count=shares,
                key_check=keyring.key_check(master),
                root_wrapped=wrap_root(master, root),
                checkpoint_public_key=public_hex(checkpoint_private_key(root).public_key()),
            )
            audit_record(action="vault.init", actor=actor)
    except IntegrityError as exc:
        raise VaultError(_("The vault is initialised already; it cannot be initialised twice.")) from exc
    return mnemonics


def age_recipients(keys: list[str], shares: int) -> list[pyrage.x25519.Recipient]:
    """Trustees' age public keys, checked before anything is created: one per share."""
    if len(keys) != shares:
        raise VaultError(_("Give one age recipient per share."))
    recipients = []
    for key in keys:
        try:
            recipients.append(pyrage.x25519.Recipient.from_str(key.strip()))
        except pyrage.RecipientError as exc:
            raise VaultError(_("This is not an age public key (age1…): %(key)s") % {"key": key}) from exc
    return recipients


def shares_for_trustees(mnemonics: list[str], recipients: list[pyrage.x25519.Recipient]) -> list[str]:
    """Each share encrypted to one trustee's age public key (armored text), in order."""
    return [
        pyrage.encrypt(mnemonic.encode(), [recipient], armored=True).decode()
        for mnemonic, recipient in zip(mnemonics, recipients, strict=True)
    ]


def _parse(mnemonic: str, state: VaultState) -> Share:
    words = " ".join(mnemonic.lower().split())
    try:
        share = Share.from_mnemonic(words)
    except shamir_mnemonic.MnemonicError as exc:
        raise VaultError(
            _(
                "This share is not valid: a word is mistyped, missing or in the wrong place. Check it and try again."
            )
        ) from exc
    if share.identifier != state.identifier:
        raise VaultError(_("This share belongs to another initialisation of the vault."))
    return share


def vault_add_share(*, mnemonic: str, actor: object = None) -> Progress:
    """Add one trustee's share. At the threshold the master key is rebuilt, checked and put in tmpfs."""
    state = vault_state()
    if state is None:
        raise VaultError(_("The vault is not initialised yet: run `safepassage vault init`."))
    if not keyring.is_sealed():
        return Progress(state.threshold, state.threshold)
    share = _parse(mnemonic, state)
    pending = [m for m in keyring.pending_shares() if Share.from_mnemonic(m).identifier == state.identifier]
    if any(Share.from_mnemonic(m).index == share.index for m in pending):
        raise VaultError(_("This share was entered already. The next trustee enters theirs."))
    pending.append(share.mnemonic())
    if len(pending) < state.threshold:
        keyring.put_pending_shares(pending)
        audit_record(action="vault.unseal_share", actor=actor)
        return Progress(len(pending), state.threshold)
    try:
        master = shamir_mnemonic.combine_mnemonics(pending)
    except shamir_mnemonic.MnemonicError as exc:
        keyring.forget_everything()
        raise VaultError(
            _("These shares do not fit together. Start again with the trustees' shares.")
        ) from exc
    if keyring.key_check(master) != state.key_check:
        keyring.forget_everything()
        raise VaultError(_("These shares give a wrong key. Start again with the trustees' shares."))
    if not state.root_wrapped:  # a vault initialised before the root existed gets one now
        root = new_root()
        state.root_wrapped = wrap_root(master, root)
        state.checkpoint_public_key = public_hex(checkpoint_private_key(root).public_key())
        state.save(update_fields=["root_wrapped", "checkpoint_public_key"])
    keyring.put_master_key(master)
    keyring.put_pending_shares([])
    audit_record(action="vault.unseal", actor=actor)
    intake_keys_ensure()
    return Progress(state.threshold, state.threshold)


def vault_progress() -> Progress:
    state = vault_state()
    if state is None:
        return Progress(0, 0)
    if not keyring.is_sealed():
        return Progress(state.threshold, state.threshold)
    return Progress(len(keyring.pending_shares()), state.threshold)


def vault_seal(*, actor: object = None, panic: bool = False) -> None:
    keyring.forget_everything()
    audit_record(action="vault.panic" if panic else "vault.seal", actor=actor)
