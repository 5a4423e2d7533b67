"""The field app's words in English and Urdu, and its refusals by the server's error code.

The app receives the table of its page's language inside the page (``/app`` or ``/ur/app``), so every
message it shows offline is already on the phone. Keys are the English text, as in
:mod:`pollwatch.site.i18n`; refusals are keyed by the stable ``code`` of the error envelope.
"""

from __future__ import annotations

REFUSALS: dict[str, tuple[str, str]] = {
    "device_not_enrolled": (
        "This phone's key is not enrolled (or was revoked). Enrol again with a new QR code.",
        "اس فون کی کلید رجسٹر نہیں (یا منسوخ ہو چکی ہے)۔ نئے کیو آر کوڈ سے دوبارہ رجسٹر کریں۔",
    ),
    "replayed_signature": (
        "This signature was already used: the server refused a replay. Capture the sheet again.",
        "یہ دستخط پہلے استعمال ہو چکے ہیں: سرور نے دہرائی گئی ترسیل مسترد کر دی۔ فارم دوبارہ درج کریں۔",
    ),
    "outside_assignment": (
        "You are not assigned to this station. Ask your coordinator.",
        "آپ اس پولنگ اسٹیشن پر مقرر نہیں ہیں۔ اپنے کوآرڈینیٹر سے رابطہ کریں۔",
    ),
    "conflict": (
        "The server already holds different content under this submission id.",
        "سرور کے پاس اس شناخت کے تحت مختلف مواد پہلے سے موجود ہے۔",
    ),
    "unauthenticated": (
        "The server does not know this phone's token. Enrol again.",
        "سرور اس فون کا ٹوکن نہیں پہچانتا۔ دوبارہ رجسٹر کریں۔",
    ),
    "forbidden": ("Your role may not send this.", "آپ کا کردار یہ بھیجنے کی اجازت نہیں دیتا۔"),
    "invalid_input": (
        "The server refused the record as invalid.",
        "سرور نے ریکارڈ کو غلط قرار دے کر مسترد کر دیا۔",
    ),
}
"""Error code -> (English, Urdu): what the app says when the server refuses a submission."""

_UR: dict[str, str] = {
    "pollwatch field app": "پول واچ فیلڈ ایپ",
    "Enrol this phone": "اس فون کو رجسٹر کریں",
    "Paste the enrolment code from your coordinator's QR code": (
        "کوآرڈینیٹر کے کیو آر کوڈ کا رجسٹریشن کوڈ یہاں چسپاں کریں"
    ),
    "Enrol": "رجسٹر کریں",
    "Enrolled": "رجسٹرڈ",
    "Enrolling…": "رجسٹر ہو رہا ہے…",
    "Device key": "ڈیوائس کلید",
    "Sheet": "فارم",
    "Checklist": "چیک لسٹ",
    "Queue": "قطار",
    "Receipts": "رسیدیں",
    "Station": "پولنگ اسٹیشن",
    "Constituency": "حلقہ",
    "Load stations": "اسٹیشن لوڈ کریں",
    "Votes": "ووٹ",
    "valid": "درست ووٹ",
    "rejected": "مسترد ووٹ",
    "polled": "ڈالے گئے ووٹ",
    "Sum of votes": "ووٹوں کا مجموعہ",
    "valid + rejected": "درست + مسترد",
    "matches": "درست ہے",
    "does not match (sent and marked)": "مطابقت نہیں (بھیجا جائے گا اور نشان زد ہوگا)",
    "Photo of the sheet": "فارم کی تصویر",
    "Photo SHA-256": "تصویر کا SHA-256",
    "Save and sign": "محفوظ کریں اور دستخط کریں",
    "Correct this sheet": "اس فارم کی تصحیح کریں",
    "Correcting leaf": "لاگ اندراج کی تصحیح",
    "Signed and queued": "دستخط شدہ اور قطار میں",
    "Send by SMS": "ایس ایم ایس سے بھیجیں",
    "Offline: the queue waits for the network.": "آف لائن: قطار نیٹ ورک کا انتظار کر رہی ہے۔",
    "Online": "آن لائن",
    "waiting": "منتظر",
    "sending": "بھیجا جا رہا ہے",
    "received": "موصول",
    "refused": "مسترد",
    "Send now": "ابھی بھیجیں",
    "verified": "تصدیق شدہ",
    "NOT verified": "تصدیق نہیں ہوئی",
    "leaf": "اندراج",
    "received at": "موصول ہوا",
    "Share receipt": "رسید شیئر کریں",
    "Form": "فارم",
    "yes": "ہاں",
    "no": "نہیں",
    "Answer the form": "فارم کے جوابات دیں",
    "Nothing waiting.": "کچھ بھی منتظر نہیں۔",
    "No receipt yet.": "ابھی کوئی رسید نہیں۔",
    "This phone is not enrolled yet.": "یہ فون ابھی رجسٹر نہیں ہوا۔",
    "Candidate": "امیدوار",
    "Party": "جماعت",
    "Independent": "آزاد",
    "choose…": "منتخب کریں…",
    "Incident": "واقعہ",
    "Category": "زمرہ",
    "Severity": "شدت",
    "low": "کم",
    "medium": "درمیانی",
    "high": "زیادہ",
    "critical": "انتہائی سنگین",
    "What happened (no names, phone numbers or e-mail addresses)": (
        "کیا ہوا (کوئی نام، فون نمبر یا ای میل نہیں)"
    ),
    "Not saved: the text is public and may not carry a phone number or an e-mail address.": (
        "محفوظ نہیں ہوا: یہ متن عوامی ہے، اس میں فون نمبر یا ای میل نہیں ہو سکتی۔"
    ),
    "Not saved: an incident of category other needs a description.": (
        "محفوظ نہیں ہوا: دیگر زمرے کے واقعے کے لیے تفصیل ضروری ہے۔"
    ),
    "English": "English",
    "اردو": "اردو",
}


def messages(lang: str) -> dict[str, str]:
    """The app's message table for ``lang`` (English: the keys), refusals under ``refusal.<code>``."""
    table = {key: (_UR.get(key, key) if lang == "ur" else key) for key in _UR}
    for code in REFUSALS:
        table[f"refusal.{code}"] = refusal_message(code, lang)
    return table


def refusal_message(code: str, lang: str) -> str:
    """What the app says for a refusal with error ``code`` (the server's own message is shown beside it)."""
    english, urdu = REFUSALS.get(code, ("The server refused the record.", "سرور نے ریکارڈ مسترد کر دیا۔"))
    return urdu if lang == "ur" else english
