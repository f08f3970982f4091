"""Personal data in an immutable log: sealed with a per-resident key (crypto-shredding, DESIGN §4).

An event carries only `SealedPersonalData`. The key lives in PostgreSQL (`civicloop_runtime.vault`); erasing it makes
every sealed copy on the log unreadable, which is how a resident is erased from a log that is never rewritten.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Literal
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

KEY_BYTES = 32
NONCE_BYTES = 12


class PersonalData(BaseModel):
    """A resident's contact details in clear. Lives in memory only, never in an event or a log line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164")
    device_id: str | None = Field(default=None, max_length=200, description="Open311: the submitting device")
    account_id: str | None = Field(default=None, max_length=200, description="Open311: the partner's user id")

    def __repr__(self) -> str:  # never let a stray log line print it
        return "PersonalData(<sealed>)"

    __str__ = __repr__

    def is_empty(self) -> bool:
        return not (self.name or self.email or self.phone or self.device_id or self.account_id)


class SealedPersonalData(BaseModel):
    """Contact details encrypted with AES-256-GCM under the resident's own key; the resident id is the AAD."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resident_id: UUID
    algorithm: Literal["AES-256-GCM"] = "AES-256-GCM"
    nonce: str = Field(description="base64, 96 bits")
    ciphertext: str = Field(description="base64 of the JSON of the personal data, with the GCM tag")


class PersonalDataUnreadable(Exception):
    """The resident's key was erased (or the blob was tampered with): the person is gone from this event."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(data: PersonalData, *, resident_id: UUID, key: bytes) -> SealedPersonalData:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(data.model_dump(exclude_none=True), separators=(",", ":")).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, resident_id.bytes)
    return SealedPersonalData(
        resident_id=resident_id,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )


def unseal(sealed: SealedPersonalData, *, key: bytes | None) -> PersonalData:
    if key is None:
        raise PersonalDataUnreadable(f"key of resident {sealed.resident_id} has been erased")
    try:
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), sealed.resident_id.bytes
        )
    except Exception as exc:  # InvalidTag, bad base64: both mean "cannot be read"
        raise PersonalDataUnreadable(
            f"sealed data of resident {sealed.resident_id} cannot be opened"
        ) from exc
    return PersonalData.model_validate_json(plaintext)
