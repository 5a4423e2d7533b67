"""Who may do what: hashed API tokens, roles and assignments, Ed25519 device keys.

>>> from pollwatch.storage import Database
>>> db = Database("sqlite://"); db.upgrade()
>>> with db.begin() as conn:
...     key_id, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN")
...     principal = authenticate(conn, "Bearer " + token)
>>> principal.role.value, principal.organisation, principal.key_id == key_id
('observer', 'FAFEN', True)
"""

from pollwatch.auth.devices import device_key_id, register_device, sign, verify_signature
from pollwatch.auth.revocation import DeviceRevoked, SubmitterRevoked, revoke_device, revoke_submitter
from pollwatch.auth.roles import (
    Assignment,
    AuthRole,
    Principal,
    require_role,
    verify_may_register,
    verify_may_revoke,
    verify_may_submit,
)
from pollwatch.auth.tokens import authenticate, create_submitter, hash_token

__all__ = [
    "Assignment",
    "AuthRole",
    "DeviceRevoked",
    "Principal",
    "SubmitterRevoked",
    "authenticate",
    "create_submitter",
    "device_key_id",
    "hash_token",
    "register_device",
    "require_role",
    "revoke_device",
    "revoke_submitter",
    "sign",
    "verify_may_register",
    "verify_may_revoke",
    "verify_may_submit",
    "verify_signature",
]
