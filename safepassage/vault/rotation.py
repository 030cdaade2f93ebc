"""`safepassage vault rotate`: a new master key and new shares, new organisation keys, every data key re-wrapped,
while the server keeps serving, resumable after being killed at any point.

Why new organisation keys too: after a trustee's share or the old master key leaks, an attacker holding an old
dump could open the old organisation keys; if they were kept, every record made since would open with them.
With new organisation keys and every wrap re-made, the old master key opens nothing in a newer dump.

Steps (each safe to repeat; `VaultState` records where a rotation stands):
1. begin: the new master key goes to tmpfs (`next.key`), its check value, identifier and K-of-N to the database,
   and its shares are shown at once, so the new key can never be lost once anything depends on it;
2. new organisation keys of generation g+1, wrapped under the new master key;
3. re-wrap, in batches, every data-key wrap of generation g that lacks its g+1 twin (the server keeps using g);
4. switch, in one transaction holding the vault row (writers of wraps wait): the last wraps, the intake private
   keys and the vault root re-wrapped, generation = g+1, the new check value and identifier; then the new key
   replaces the old one in tmpfs for every process at once, and the old shares unseal nothing any more;
5. clean up generation g.
Killed before 4: the next run goes on from the batch it reached (the new key waits in tmpfs; if its shares were
not yet shown, a fresh set of them is). If the node lost tmpfs meanwhile (a reboot, a seal), the half-made
generation is dropped and the rotation starts again with new shares. Killed after 4: the next run finishes the
tmpfs step and cleans up; a node sealed in between unseals with the new shares.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from shamir_mnemonic.share import Share

from safepassage.audit.services import audit_record
from safepassage.vault import keyring
from safepassage.vault.crypto import (
    lock_generation,
    organisation_key_create,
    seal,
    unseal,
    unwrap_organisation_key,
    wrap_aad,
)
from safepassage.vault.intake import private_key_aad
from safepassage.vault.keyring import VaultError
from safepassage.vault.keys import unsealed_master, unwrap_root, wrap_root
from safepassage.vault.models import DataKeyWrap, IntakeKey, OrganisationKey, VaultState
from safepassage.vault.services import check_split, split


class _Rewrapper:
    """Opens generation g wraps with the old keys and makes their g+1 twins with the new ones."""

    def __init__(self, generation: int, old_master: bytes, new_master: bytes) -> None:
        self.old, self.new = generation, generation + 1
        self.old_master, self.new_master = old_master, new_master
        self.keys: dict[int, bytes] = {}  # OrganisationKey.pk -> key
        self.rows: dict[int, OrganisationKey] = {}  # organisation -> its key row of generation g+1

    def key(self, row: OrganisationKey) -> bytes:
        if row.pk not in self.keys:
            master = self.old_master if row.generation == self.old else self.new_master
            self.keys[row.pk] = unwrap_organisation_key(row, master)
        return self.keys[row.pk]

    def new_row(self, organisation_id: int) -> OrganisationKey:
        if organisation_id not in self.rows:
            self.rows[organisation_id] = organisation_key_create(organisation_id, self.new, self.new_master)
        return self.rows[organisation_id]

    def batch(self, size: int) -> int:
        twin = DataKeyWrap.objects.filter(
            data_key_id=OuterRef("data_key_id"),
            organisation_id=OuterRef("organisation_id"),
            organisation_key__generation=self.new,
        )
        with transaction.atomic():
            lock_generation()
            wraps = list(
                DataKeyWrap.objects.filter(organisation_key__generation=self.old)
                .filter(~Exists(twin))
                .select_related("organisation_key")
                .order_by("pk")[:size]
            )
            made = []
            for wrap in wraps:
                data_key = unseal(
                    self.key(wrap.organisation_key),
                    bytes(wrap.wrapped),
                    wrap_aad(wrap.data_key_id, wrap.organisation_id, self.old),
                )
                target = self.new_row(wrap.organisation_id)
                made.append(
                    DataKeyWrap(
                        data_key_id=wrap.data_key_id,
                        organisation_id=wrap.organisation_id,
                        organisation_key=target,
                        wrapped=seal(
                            self.key(target),
                            data_key,
                            wrap_aad(wrap.data_key_id, wrap.organisation_id, self.new),
                        ),
                    )
                )
            DataKeyWrap.objects.bulk_create(made)
        return len(wraps)


def _abandon(state: VaultState) -> None:
    """The new key was lost from tmpfs: drop the half-made generation."""
    upcoming = state.generation + 1
    with transaction.atomic():
        DataKeyWrap.objects.filter(organisation_key__generation=upcoming).delete()
        OrganisationKey.objects.filter(generation=upcoming).delete()
        state.next_key_check, state.next_threshold, state.next_share_count = "", 0, 0
        state.save(update_fields=["next_key_check", "next_threshold", "next_share_count"])


def _begin(state: VaultState, shares: int | None, threshold: int | None, actor: object) -> bytes:
    share_count = shares or state.share_count
    needed = threshold or state.threshold
    check_split(shares=share_count, threshold=needed)
    new = secrets.token_bytes(32)
    keyring.put_next_key(new)
    state.next_key_check = keyring.key_check(new)
    state.next_threshold, state.next_share_count = needed, share_count
    state.shares_pending = True
    state.save(update_fields=["next_key_check", "next_threshold", "next_share_count", "shares_pending"])
    audit_record(action="vault.rotate_begin", actor=actor)
    return new


def _shares_of_next(state: VaultState, new: bytes) -> list[str]:
    """The new master key's shares, made now; a set made before and not shown stops working."""
    mnemonics = split(new, shares=state.next_share_count, threshold=state.next_threshold)
    state.next_identifier = Share.from_mnemonic(mnemonics[0]).identifier
    state.save(update_fields=["next_identifier"])
    return mnemonics


def _still_holding(rewrapper: _Rewrapper) -> None:
    """Stop if the node was sealed (panic) or its keys changed while the rotation ran."""
    if keyring.master_key() != rewrapper.old_master or keyring.next_key() != rewrapper.new_master:
        raise VaultError(_("The vault was sealed during the rotation. Unseal it and run the rotation again."))


def _switch(state: VaultState, rewrapper: _Rewrapper, batch: int, actor: object) -> None:
    with transaction.atomic():
        lock_generation()
        state.refresh_from_db()
        _still_holding(rewrapper)
        if state.generation != rewrapper.old or state.next_key_check != keyring.key_check(
            rewrapper.new_master
        ):
            raise VaultError(_("Another rotation changed the vault meanwhile. Run the rotation again."))
        while rewrapper.batch(batch):
            pass
        for intake_key in IntakeKey.objects.select_related("organisation_key").filter(
            organisation_key__generation=rewrapper.old
        ):
            aad = private_key_aad(intake_key.organisation_id)
            private = unseal(
                rewrapper.key(intake_key.organisation_key), bytes(intake_key.private_wrapped), aad
            )
            target = rewrapper.new_row(intake_key.organisation_id)
            intake_key.private_wrapped = seal(rewrapper.key(target), private, aad)
            intake_key.organisation_key = target
            intake_key.save(update_fields=["private_wrapped", "organisation_key"])
        for organisation_id in OrganisationKey.objects.filter(generation=rewrapper.old).values_list(
            "organisation_id", flat=True
        ):
            rewrapper.new_row(organisation_id)  # an organisation with a key but no records yet
        root = unwrap_root(rewrapper.old_master, bytes(state.root_wrapped))
        state.root_wrapped = wrap_root(rewrapper.new_master, root)
        state.generation = rewrapper.new
        state.key_check, state.identifier = state.next_key_check, state.next_identifier
        state.threshold, state.share_count = state.next_threshold, state.next_share_count
        state.next_key_check, state.next_threshold, state.next_share_count, state.next_identifier = (
            "",
            0,
            0,
            0,
        )
        state.save(
            update_fields=[
                "root_wrapped",
                "generation",
                "key_check",
                "identifier",
                "threshold",
                "share_count",
                "next_key_check",
                "next_threshold",
                "next_share_count",
                "next_identifier",
            ]
        )
        audit_record(action="vault.rotate", actor=actor)
    keyring.promote_next_key()


def _finish_switch(state: VaultState) -> bool:
    """A run killed between the switch and the tmpfs step: finish that step (True when there was one)."""
    master = keyring.master_key()
    if master is not None and keyring.key_check(master) == state.key_check:
        return False
    upcoming = keyring.next_key()
    if upcoming is None or keyring.key_check(upcoming) != state.key_check:
        raise VaultError(
            _("The vault is sealed. Unseal it (with the newest shares) and run the rotation again.")
        )
    keyring.promote_next_key()
    return True


def _clean_up(generation: int, batch: int) -> None:
    while True:
        with transaction.atomic():
            ids = list(
                DataKeyWrap.objects.filter(organisation_key__generation__lt=generation).values_list(
                    "pk", flat=True
                )[:batch]
            )
            if not ids:
                break
            DataKeyWrap.objects.filter(pk__in=ids).delete()
    OrganisationKey.objects.filter(generation__lt=generation).delete()


def rotate(
    *,
    show_shares: Callable[[list[str]], None],
    shares: int | None = None,
    threshold: int | None = None,
    batch: int = 500,
    pause: float = 0.0,
    report: Callable[[str], None] = lambda line: None,
    actor: object = None,
) -> None:
    """Rotate, or resume a rotation. The new shares go to `show_shares` as soon as they exist; they take over
    when the rotation completes. One rotation at a time per node (a lock file in the runtime directory)."""
    with keyring.rotation_lock():
        _rotate(show_shares, shares, threshold, batch, pause, report, actor)


def _rotate(
    show_shares: Callable[[list[str]], None],
    shares: int | None,
    threshold: int | None,
    batch: int,
    pause: float,
    report: Callable[[str], None],
    actor: object,
) -> None:
    state = VaultState.objects.filter(pk=1).first()
    if state is None:
        raise VaultError(_("The vault is not initialised yet: run `safepassage vault init`."))
    unfinished = (
        _finish_switch(state) or OrganisationKey.objects.filter(generation__lt=state.generation).exists()
    )
    old_master = unsealed_master()
    _clean_up(state.generation, batch)
    if unfinished:
        report("Finished the rotation that was stopped after its switch; the newest shares unseal the vault.")
        return
    new = keyring.next_key() if state.next_key_check else None
    if state.next_key_check and (new is None or keyring.key_check(new) != state.next_key_check):
        report("The rotation under way lost its new key (the node was sealed or restarted); starting again.")
        _abandon(state)
        new = None
    elif new is not None and state.shares_pending:
        # Stopped before its shares were shown: nothing was re-wrapped yet. A new key, so that a set of shares
        # that may have been printed or sent halfway never rebuilds the key in use.
        report("The rotation under way stopped before its shares were shown; starting again with a new key.")
        _abandon(state)
        new = None
    elif new is not None:
        report("Resuming the rotation under way.")
    if new is None:
        new = _begin(state, shares, threshold, actor)
        show_shares(_shares_of_next(state, new))
        state.shares_pending = False
        state.save(update_fields=["shares_pending"])
    rewrapper = _Rewrapper(state.generation, old_master, new)
    for organisation_id in OrganisationKey.objects.filter(generation=rewrapper.old).values_list(
        "organisation_id", flat=True
    ):
        rewrapper.new_row(organisation_id)
    done = 0
    while count := rewrapper.batch(batch):
        done += count
        report(f"{done} keys re-wrapped")
        time.sleep(pause)
        _still_holding(rewrapper)
    _switch(state, rewrapper, batch, actor)
    _clean_up(state.generation, batch)
    report("Rotated: the new shares unseal the vault; the old ones no longer do.")
