"""Forms kept for Teams dialogs (task modules), per member, until the dialog is opened and submitted.

A dialog's card is fetched when the person presses a button (``task/fetch``), which may be long after
the form was made (a typed ``raci edit`` answers with a card whose button opens it), and a refused
submission shows the same form again with what was typed and why. So the form is kept: in the core's
key-value store, under the member, with a random key the buttons and the Submit carry. Only the member
it was made for can open it (the key is looked up under whoever pressed), and only the newest
``KEPT_FORMS`` are kept.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from typing import Any

from bot.kernel.domain import Member
from bot.kernel.messages import Form, FormInput
from bot.kernel.ports import Store

KEPT_FORMS = 10
KV_PREFIX = "teams.dialog-forms."


def _key_of(member: Member) -> str:
    return f"{KV_PREFIX}{member.id}"


def _form_of(raw: Any) -> Form | None:
    """A kept form read back; ``None`` for anything that is not one (a store edited by hand)."""
    if not isinstance(raw, dict):
        return None
    try:
        inputs = tuple(FormInput(**{**i, "options": tuple(i.get("options", ()))}) for i in raw["inputs"])
        return Form(str(raw["title"]), str(raw["callback_id"]), inputs, str(raw.get("submit_label", "Submit")),
                    {str(k): str(v) for k, v in dict(raw.get("metadata") or {}).items()})
    except (KeyError, TypeError, ValueError):
        return None


class DialogForms:
    """The forms waiting behind dialog buttons, per member."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def keep(self, member: Member, form: Form) -> str:
        """Keep the form for this member; the key a button or a Submit names it by."""
        key = secrets.token_urlsafe(12)
        kept = self.store.kv_get(member.workspace, _key_of(member))
        forms = dict(kept) if isinstance(kept, dict) else {}
        forms[key] = asdict(form)
        while len(forms) > KEPT_FORMS:
            forms.pop(next(iter(forms)))
        self.store.kv_set(member.workspace, _key_of(member), forms)
        return key

    def get(self, member: Member, key: Any) -> Form | None:
        """The member's form under ``key``; ``None`` when it is not theirs, was never kept, or has been replaced."""
        if not isinstance(key, str) or not key:
            return None
        kept = self.store.kv_get(member.workspace, _key_of(member))
        return _form_of(kept.get(key)) if isinstance(kept, dict) else None

    def drop(self, member: Member, key: str) -> None:
        """A form submitted and taken is not opened again."""
        kept = self.store.kv_get(member.workspace, _key_of(member))
        if isinstance(kept, dict) and key in kept:
            self.store.kv_set(member.workspace, _key_of(member), {k: v for k, v in kept.items() if k != key})


    def forget(self, workspace: str, member_id: str) -> None:
        """``forget-me``: forms kept for the person (they hold earlier answers) go with them."""
        self.store.kv_delete(workspace, f"{KV_PREFIX}{member_id}")


def refilled(form: Form, values: dict[str, str]) -> Form:
    """The form again with what the person typed in it, so a refused submission loses nothing."""
    return replace(form, inputs=tuple(replace(i, initial=values.get(i.input_id, i.initial)) for i in form.inputs))
