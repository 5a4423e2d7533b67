"""English and Urdu for the dashboard: messages, digits, and times in Pakistan time (Asia/Karachi).

Messages are a small table kept here (not gettext catalogs) so the page code and its Urdu stay
together; candidate and party names are data, never translated here. Latin digits are the default for
Urdu, as CLDR's ``ur_PK`` has it; Urdu (extended Arabic-Indic) digits are an option.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LANGS = ("en", "ur")
PKT = ZoneInfo("Asia/Karachi")
_URDU_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

_UR: dict[str, str] = {
    "Recount and re-poll": "دوبارہ گنتی اور دوبارہ پولنگ",
    "Recount": "دوبارہ گنتی",
    "within the threshold": "حد کے اندر",
    "outside the threshold": "حد سے باہر",
    "threshold": "حد",
    "Re-poll of the stations without an agreed figure": "متفقہ نتیجے کے بغیر پولنگ اسٹیشنوں پر دوبارہ پولنگ",
    "could change the leader": "برتری بدل سکتی ہے",
    "cannot change the leader": "برتری نہیں بدل سکتی",
    "the closest challenger needs": "قریب ترین حریف کو درکار",
    "Station map": "پولنگ اسٹیشنوں کا نقشہ",
    "stations placed by their GPS point": "اسٹیشن جی پی ایس کے مطابق",
    "No station location in the data: stations laid out in scheme order": (
        "ڈیٹا میں مقام نہیں: اسٹیشن ترتیب وار دکھائے گئے"
    ),
    "approximate: no constituency boundary exists": "تخمینی: حلقے کی حد دستیاب نہیں",
    "Verify": "تصدیق",
    "The log key to pin": "محفوظ کرنے کے لیے لاگ کی کلید",
    "A receipt": "رسید",
    "A bundle": "بنڈل",
    "A mirror of the log": "لاگ کا آئینہ",
    "A snapshot of this site and its open data": "اس سائٹ اور اس کے کھلے ڈیٹا کا اسنیپ شاٹ",
    "No snapshot has been written yet.": "ابھی کوئی اسنیپ شاٹ نہیں لکھا گیا۔",
    "File": "فائل",
    "Rows": "قطاریں",
    "entries": "اندراجات",
    "Elections": "انتخابات",
    "Nation": "ملک",
    "Region": "علاقہ",
    "Province": "صوبہ",
    "Constituency": "حلقہ",
    "Constituencies": "حلقے",
    "Station": "پولنگ اسٹیشن",
    "Stations": "پولنگ اسٹیشن",
    "Candidate": "امیدوار",
    "Candidates": "امیدوار",
    "Party": "جماعت",
    "Votes": "ووٹ",
    "Seats": "نشستیں",
    "Leading": "آگے",
    "Decided": "فیصلہ شدہ",
    "Registered": "رجسٹرڈ ووٹر",
    "Registered voters": "رجسٹرڈ ووٹر",
    "Coverage": "کوریج",
    "with a sheet": "فارم موصول",
    "agreeing copies": "متفق نقول",
    "total": "کل",
    "Snapshot": "اسنیپ شاٹ",
    "checkpoint": "چیک پوائنٹ",
    "root": "روٹ",
    "lag": "تاخیر",
    "stale": "پرانا",
    "live": "تازہ",
    "entries not yet in a checkpoint": "اندراجات ابھی چیک پوائنٹ میں نہیں",
    "No checkpoint signed yet": "ابھی کوئی چیک پوائنٹ دستخط شدہ نہیں",
    "Seats by party": "جماعتوں کی نشستیں",
    "from the signed sheets": "دستخط شدہ فارموں سے",
    "Flagged seats": "نشان زدہ نشستیں",
    "Findings": "نتائج کی جانچ",
    "Discrepancies": "تضادات",
    "Observation": "مشاہدہ",
    "Timeline": "ٹائم لائن",
    "Record": "ریکارڈ",
    "Category": "زمرہ",
    "When": "وقت",
    "Log entry": "لاگ اندراج",
    "incident": "واقعہ",
    "case": "مقدمہ",
    "case_update": "مقدمے کی پیش رفت",
    "shutdown": "بندش",
    "Incidents and cases, by district (darker: more)": "واقعات اور مقدمات، ضلع وار (گہرا: زیادہ)",
    "First 500 shown; filter to narrow.": "پہلے 500 دکھائے گئے؛ محدود کرنے کے لیے فلٹر کریں۔",
    "District map": "ضلعی نقشہ",
    "Share of stations with a sheet": "فارم والے اسٹیشنوں کا تناسب",
    "Leader": "سب سے آگے",
    "Margin": "فرق",
    "Registered voters still out": "باقی رجسٹرڈ ووٹر",
    "Race decided": "مقابلے کا فیصلہ",
    "yes": "ہاں",
    "no": "نہیں",
    "under a turnout cap of": "ٹرن آؤٹ کی حد کے تحت",
    "Signed sum": "دستخط شدہ مجموعہ",
    "Official": "سرکاری",
    "State": "حالت",
    "all": "سب",
    "missing": "غائب",
    "single_source": "ایک نقل",
    "agreed": "متفق",
    "conflict": "متضاد",
    "official_only": "صرف سرکاری",
    "Next page": "اگلا صفحہ",
    "Copies": "نقول",
    "Copy": "نقل",
    "Submitted by": "جمع کرانے والا",
    "Role": "کردار",
    "Signature": "دستخط",
    "Received": "موصول",
    "Log index": "لاگ انڈیکس",
    "Inclusion proof": "شمولیت کا ثبوت",
    "Report a problem": "مسئلہ رپورٹ کریں",
    "Kind": "قسم",
    "Severity": "شدت",
    "Where": "کہاں",
    "What": "کیا",
    "Filter": "فلٹر",
    "Sort": "ترتیب",
    "English": "English",
    "اردو": "اردو",
    "Valid": "درست",
    "Rejected": "مسترد",
    "Polled": "ڈالے گئے",
    "No finding.": "کوئی تضاد نہیں ملا۔",
    "Open data": "کھلا ڈیٹا",
    "Log": "لاگ",
    "Pakistan time": "پاکستانی وقت",
    "signed sheets": "دستخط شدہ فارم",
    "Form-47/48/49 and official figures": "فارم ۴۷/۴۸/۴۹ اور سرکاری اعداد",
    "No official figure yet.": "ابھی کوئی سرکاری عدد نہیں۔",
}


def translate(lang: str, message: str) -> str:
    """``message`` in ``lang`` (English when no Urdu is known for it)."""
    return _UR.get(message, message) if lang == "ur" else message


def number(value: int | None, lang: str = "en", *, urdu_digits: bool = False) -> str:
    """Grouped digits (``12,345,678``); ``–`` for an unknown; Urdu digits only when asked for."""
    if value is None:
        return "–"
    text = f"{value:,}"
    return text.translate(_URDU_DIGITS) if lang == "ur" and urdu_digits else text


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal (``–`` when ``whole`` is 0)."""
    return f"{100 * part / whole:.1f}%" if whole else "–"


def pakistan_time(moment: dt.datetime | None) -> str:
    """``2018-07-25 21:04 PKT``: the moment in Asia/Karachi (naive datetimes are taken as UTC)."""
    if moment is None:
        return "–"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PKT).strftime("%Y-%m-%d %H:%M:%S PKT")
