"""Personal Redmine API keys, encrypted at rest with Fernet (cryptography's MultiFernet).

LINK_ENCRYPTION_KEYS holds one or more Fernet keys, newest first: the first encrypts, any of
them decrypts, so a key is rotated by putting a new one in front and running `rotate-keys`.
Without keys, personal keys cannot be stored at all (fail closed).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app_integration.core.errors import BridgeError


class VaultLocked(BridgeError):
    """No encryption key is configured, or a stored key was sealed with one no longer configured."""


class KeyVault:
    def __init__(self, keys: str | None) -> None:
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts]) if parts else None

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        return self._vault().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._vault().decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise VaultLocked("A stored key was sealed with an encryption key that is no longer configured.") from None

    def rotate(self, sealed: str) -> str:
        """The same secret, sealed with the newest key."""
        try:
            return self._vault().rotate(sealed.encode()).decode()
        except InvalidToken:
            raise VaultLocked("A stored key was sealed with an encryption key that is no longer configured.") from None

    def _vault(self) -> MultiFernet:
        if self._fernet is None:
            raise VaultLocked("Personal keys are off: the operator has set no LINK_ENCRYPTION_KEYS.")
        return self._fernet


def new_key() -> str:
    return Fernet.generate_key().decode()
