"""Former home of the intake SQL, now split by concern; these names stay importable from here.

New code imports the module of its concern: :mod:`~pollwatch.storage.submitters` (submitters and
tokens), :mod:`~pollwatch.storage.devices`, :mod:`~pollwatch.storage.assignments`,
:mod:`~pollwatch.storage.places` (constituencies, stations, ballots), :mod:`~pollwatch.storage.submissions`,
:mod:`~pollwatch.storage.sheet_rows` and :mod:`~pollwatch.storage.photos`.
"""

from __future__ import annotations

from pollwatch.storage.assignments import AssignmentRow, create_assignment, list_assignments
from pollwatch.storage.devices import (
    DeviceKeyRow,
    create_device_key,
    get_device_key,
    get_device_owner,
    get_latest_device_key,
    list_device_keys,
    list_device_owners,
    list_submitter_devices,
    revoke_device_key,
)
from pollwatch.storage.photos import (
    get_photo,
    get_publish_photos,
    list_prefix_references,
    photo_referenced,
    record_photo,
    set_publish_photos,
)
from pollwatch.storage.places import (
    ConstituencyContext,
    StationContext,
    get_station_context,
    list_constituency_contexts,
    list_station_contexts,
)
from pollwatch.storage.sheet_rows import insert_sheet, insert_sheet_batch
from pollwatch.storage.submissions import (
    SubmissionRow,
    count_submissions,
    get_submission,
    insert_submissions,
    list_leaf_owners,
    list_submission_keys,
    list_submissions,
    signature_in_use,
)
from pollwatch.storage.submitters import (
    SubmitterRow,
    count_active_tokens,
    create_submitter,
    create_token,
    get_submitter,
    get_token_submitter,
    phone_in_use,
    revoke_tokens,
)

__all__ = [
    "AssignmentRow",
    "ConstituencyContext",
    "DeviceKeyRow",
    "StationContext",
    "SubmissionRow",
    "SubmitterRow",
    "count_active_tokens",
    "count_submissions",
    "create_assignment",
    "create_device_key",
    "create_submitter",
    "create_token",
    "get_device_key",
    "get_device_owner",
    "get_latest_device_key",
    "get_photo",
    "get_publish_photos",
    "get_station_context",
    "get_submission",
    "get_submitter",
    "get_token_submitter",
    "insert_sheet",
    "insert_sheet_batch",
    "insert_submissions",
    "list_assignments",
    "list_constituency_contexts",
    "list_device_keys",
    "list_device_owners",
    "list_leaf_owners",
    "list_prefix_references",
    "list_station_contexts",
    "list_submission_keys",
    "list_submissions",
    "list_submitter_devices",
    "phone_in_use",
    "photo_referenced",
    "record_photo",
    "revoke_device_key",
    "revoke_tokens",
    "set_publish_photos",
    "signature_in_use",
]
