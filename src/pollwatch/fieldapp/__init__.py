"""The field app at ``/app``: what an enrolled phone may capture where, and the words it shows.

The app itself is plain ES modules under ``web/static/app/``; this package holds its domain side: the
capture context of an enrolled submitter (stations from their assignments, candidates with party, the
sheet's totals, the observation forms their role may fill in), the app's messages in English and Urdu
(refusals by error code included), and the list of files the service worker keeps for offline use.

>>> from pollwatch.fieldapp import refusal_message
>>> refusal_message("outside_assignment", "en")
'You are not assigned to this station. Ask your coordinator.'
>>> # context = get_capture_context(conn, principal, election="pk-2024")
"""

from pollwatch.fieldapp.assets import APP_FILES, app_version
from pollwatch.fieldapp.context import MAX_STATIONS, get_capture_context
from pollwatch.fieldapp.text import REFUSALS, messages, refusal_message

__all__ = [
    "APP_FILES",
    "MAX_STATIONS",
    "REFUSALS",
    "app_version",
    "get_capture_context",
    "messages",
    "refusal_message",
]
