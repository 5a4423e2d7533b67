"""The words of a pack in English and Urdu (figures, names and codes are never translated)."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("en", "ur")

_EN: dict[str, str] = {
    "title": "Evidence pack",
    "not_advice": "This pack is a record of evidence, not legal advice. It states what the public log holds "
    "and what follows arithmetically from it; whether and how to petition is for counsel to decide.",
    "generated": "Generated",
    "anchor": "Every record below is proved to be in the public log at checkpoint",
    "contest": "The contest and the declared result",
    "position": "No.",
    "candidate": "Candidate",
    "party": "Party",
    "declared": "Declared",
    "signed_sum": "Sum of the collected Form-45s",
    "difference": "Difference",
    "stations_in": "stations with a signed Form-45",
    "winner": "Declared winner",
    "runner_up": "runner-up",
    "margin": "margin",
    "votes": "votes",
    "no_declared": "The log holds no declared result for this constituency.",
    "discrepancies": "Discrepancies, ranked by their effect on the margin",
    "where": "Where",
    "what": "What",
    "effect": "Effect on the margin",
    "station": "Station",
    "whole": "Constituency total",
    "kind.official_station_differs": "The official figure of the station differs from its signed Form-45",
    "kind.station_missing_from_official": "A station with a signed Form-45 is left out of the official "
    "station-wise statement",
    "kind.declared_total_beyond_stations": "The declared total holds votes the station-wise statement "
    "does not account for",
    "kind.declared_total_differs": "The declared total differs from the sum of the collected Form-45s",
    "none_found": "None: the official figures agree with the signed Form-45s in the log.",
    "together": "Together these discrepancies account for",
    "of_margin": "of a declared margin of",
    "could_change": "Without them the winner would be",
    "change_yes": "They could change the winner.",
    "change_no": "They could not change the winner.",
    "findings": "What the audit found",
    "rule": "Rule",
    "expected": "Expected",
    "found": "Found",
    "no_findings": "The audit found nothing in this constituency.",
    "legal": "Legal checks",
    "legal.recount_eligible": "Recount eligibility (margin against 5 % of votes polled or the cap)",
    "legal.rejected_exceed_margin": "Rejected ballots against the margin",
    "legal.women_share_below_minimum": "Women's share of the votes polled (10 % rule, s.9)",
    "legal.result_late": "Results after the deadline",
    "legal.stations_awaited_at_deadline": "Stations awaited at the deadline",
    "legal.result_missing": "Missing results",
    "flagged": "Flagged",
    "not_flagged": "Not flagged by the audit (which may lack the figures to decide)",
    "stations": "Station by station",
    "state": "Copies",
    "signed": "Signed Form-45",
    "official": "Official",
    "total": "total",
    "missing": "no copy",
    "observation": "Observer checklists and incidents",
    "no_observation": "The log holds no observer checklist or incident record for these stations.",
    "checklists": "Observer checklists (each a signed record in the log; QC: the form's consistency rules)",
    "incidents": "Incidents reported",
    "by": "Organisation",
    "qc": "QC",
    "qc_ok": "passed",
    "category": "Category",
    "when": "When",
    "deadlines": "Deadlines and formal requirements (for counsel)",
    "window": "A petition must be filed within {days} days of the gazette notification of the returned "
    "candidate ({rule}).",
    "window_dates": "Gazette notification: {gazette}. Last day: {last}.",
    "window_unknown": "The gazette date was not given when this pack was made: count {days} days from it.",
    "check.respondents": "Every contesting candidate is named as a respondent.",
    "check.verification": "The petition and its annexes are verified as the law requires.",
    "check.service": "An affidavit of service on the respondents is filed.",
    "how": "How anyone can check this pack",
    "how.1": "Every result sheet in this pack is a record of a public, append-only log. Each record is kept "
    "as its original bytes with its SHA-256 fingerprint: change one character and the fingerprint changes.",
    "how.2": "The log publishes checkpoints: a single fingerprint of everything in it, signed by the log's "
    "key. Independent witnesses (parties, observers, media) countersign each checkpoint with the time they "
    "saw it, so the log cannot later show a different history without being caught.",
    "how.3": "For every record the pack carries an inclusion proof: a short list of fingerprints that "
    "connects the record to the signed checkpoint. If the record had been altered, added or removed "
    "afterwards, the proof would not connect.",
    "how.4": "Where a submitter's device signed a sheet, the signature is checked against the device's "
    "public "
    "key; submitters appear only by that key and their role, never by name.",
    "how.5": "To check everything with no server, run: pollwatch pack verify PACK --log-key KEY "
    "--witness-key KEY, using keys obtained from the election's publisher and the witnesses themselves, not "
    "from this pack. Every file, fingerprint, signature and proof is checked; anything wrong is named.",
    "custody": "Custody of the records",
    "custody_note": "Listed here: the constituency's official sheets and every copy at the stations named "
    "above. The custody of all {n} records (origin, SHA-256, submitter key and role, capture and log times, "
    "device signature, checkpoints since) is in custody.json and in each station's folder.",
    "leaf": "Log record",
    "form": "Form",
    "submitter": "Submitter (key, role)",
    "captured": "Captured",
    "entered": "Entered the log",
    "first_checkpoint": "First checkpoint",
    "device_signature": "Device signature",
    "yes": "yes",
    "no": "no",
    "photo": "Photo",
    "note.differs": "official differs",
    "note.missing": "left out of Form-48",
}

_UR: dict[str, str] = {
    "title": "ثبوت کا مجموعہ",
    "not_advice": "یہ مجموعہ شواہد کا ریکارڈ ہے، قانونی مشورہ نہیں۔ اس میں وہی بیان ہے جو عوامی ریکارڈ میں "
    "موجود ہے اور جو حساب سے اس سے نکلتا ہے؛ درخواست دائر کرنے کا فیصلہ وکیل کا ہے۔",
    "generated": "تیاری کا وقت",
    "anchor": "نیچے ہر ریکارڈ کا عوامی ریکارڈ میں ہونا اس چیک پوائنٹ پر ثابت ہے",
    "contest": "مقابلہ اور اعلان شدہ نتیجہ",
    "position": "نمبر",
    "candidate": "امیدوار",
    "party": "جماعت",
    "declared": "اعلان شدہ",
    "signed_sum": "جمع شدہ فارم 45 کا میزان",
    "difference": "فرق",
    "stations_in": "پولنگ اسٹیشن جن کا دستخط شدہ فارم 45 موجود ہے",
    "winner": "اعلان شدہ کامیاب امیدوار",
    "runner_up": "دوسرے نمبر پر",
    "margin": "فرق",
    "votes": "ووٹ",
    "no_declared": "اس حلقے کا کوئی اعلان شدہ نتیجہ ریکارڈ میں نہیں۔",
    "discrepancies": "تضادات، جیت کے فرق پر اثر کے لحاظ سے ترتیب وار",
    "where": "مقام",
    "what": "کیا",
    "effect": "جیت کے فرق پر اثر",
    "station": "پولنگ اسٹیشن",
    "whole": "حلقے کا مجموعہ",
    "kind.official_station_differs": "پولنگ اسٹیشن کا سرکاری عدد اس کے دستخط شدہ فارم 45 سے مختلف ہے",
    "kind.station_missing_from_official": "دستخط شدہ فارم 45 والا پولنگ اسٹیشن سرکاری گوشوارے سے غائب ہے",
    "kind.declared_total_beyond_stations": "اعلان شدہ مجموعے میں ایسے ووٹ ہیں جن کا گوشوارے میں حساب نہیں",
    "kind.declared_total_differs": "اعلان شدہ مجموعہ جمع شدہ فارم 45 کے میزان سے مختلف ہے",
    "none_found": "کوئی نہیں: سرکاری اعداد ریکارڈ میں موجود دستخط شدہ فارم 45 سے مطابقت رکھتے ہیں۔",
    "together": "یہ تمام تضادات مل کر",
    "of_margin": "ووٹ بنتے ہیں، جبکہ اعلان شدہ فرق ہے",
    "could_change": "ان کے بغیر کامیاب امیدوار ہوتا",
    "change_yes": "یہ نتیجہ بدل سکتے ہیں۔",
    "change_no": "یہ نتیجہ نہیں بدل سکتے۔",
    "findings": "جانچ کے نتائج",
    "rule": "قاعدہ",
    "expected": "متوقع",
    "found": "پایا گیا",
    "no_findings": "جانچ میں اس حلقے میں کچھ نہیں ملا۔",
    "legal": "قانونی جانچ",
    "legal.recount_eligible": "دوبارہ گنتی کی اہلیت",
    "legal.rejected_exceed_margin": "مسترد شدہ ووٹ بمقابلہ جیت کا فرق",
    "legal.women_share_below_minimum": "خواتین کے ووٹوں کا تناسب (دس فیصد کا قاعدہ، دفعہ 9)",
    "legal.result_late": "مقررہ وقت کے بعد نتائج",
    "legal.stations_awaited_at_deadline": "مقررہ وقت پر زیر انتظار پولنگ اسٹیشن",
    "legal.result_missing": "غائب نتائج",
    "flagged": "نشاندہی",
    "not_flagged": "جانچ میں نشاندہی نہیں ہوئی (ممکن ہے فیصلے کے لیے اعداد موجود نہ ہوں)",
    "stations": "پولنگ اسٹیشن وار",
    "state": "نقول",
    "signed": "دستخط شدہ فارم 45",
    "official": "سرکاری",
    "total": "کل",
    "missing": "کوئی نقل نہیں",
    "observation": "مبصرین کی فہرستیں اور واقعات",
    "no_observation": "ان پولنگ اسٹیشنوں کے لیے ریکارڈ میں مبصرین کی کوئی فہرست یا واقعہ درج نہیں۔",
    "checklists": "مبصرین کی فہرستیں (ہر ایک لاگ میں دستخط شدہ ریکارڈ؛ کیو سی: فارم کے قواعد)",
    "incidents": "رپورٹ شدہ واقعات",
    "by": "تنظیم",
    "qc": "کیو سی",
    "qc_ok": "درست",
    "category": "زمرہ",
    "when": "وقت",
    "deadlines": "مدت اور رسمی تقاضے (وکیل کے لیے)",
    "window": "کامیاب امیدوار کے سرکاری گزٹ میں اعلان سے {days} دن کے اندر درخواست دائر کرنا "
    "ضروری ہے ({rule})۔",
    "window_dates": "گزٹ اعلان: {gazette}۔ آخری دن: {last}۔",
    "window_unknown": "یہ مجموعہ بناتے وقت گزٹ کی تاریخ نہیں دی گئی: اس سے {days} دن گنیں۔",
    "check.respondents": "ہر مقابلہ کرنے والا امیدوار فریق کے طور پر نامزد ہو۔",
    "check.verification": "درخواست اور اس کے ضمیمے قانون کے مطابق تصدیق شدہ ہوں۔",
    "check.service": "فریقین کو نوٹس کی تعمیل کا حلف نامہ داخل ہو۔",
    "how": "کوئی بھی اس مجموعے کی جانچ کیسے کر سکتا ہے",
    "how.1": "اس مجموعے کا ہر نتیجہ ایک عوامی ریکارڈ کا حصہ ہے جس میں صرف اضافہ ہو سکتا ہے۔ ہر ریکارڈ اپنی "
    "اصل شکل میں اپنے SHA-256 نشان کے ساتھ محفوظ ہے: ایک حرف بدلیں تو نشان بدل جاتا ہے۔",
    "how.2": "ریکارڈ چیک پوائنٹ شائع کرتا ہے: پورے ریکارڈ کا ایک نشان، ریکارڈ کی کلید سے دستخط شدہ۔ "
    "آزاد گواہ "
    "(جماعتیں، مبصرین، ذرائع ابلاغ) ہر چیک پوائنٹ پر وقت کے ساتھ جوابی دستخط کرتے ہیں، اس لیے بعد میں "
    "مختلف تاریخ دکھانا پکڑا جاتا ہے۔",
    "how.3": "ہر ریکارڈ کے ساتھ شمولیت کا ثبوت ہے: نشانات کی مختصر فہرست جو ریکارڈ کو "
    "دستخط شدہ چیک پوائنٹ سے "
    "جوڑتی ہے۔ اگر ریکارڈ بعد میں بدلا، بڑھایا یا ہٹایا جاتا تو ثبوت نہ جڑتا۔",
    "how.4": "جہاں بھیجنے والے کے آلے نے دستخط کیے، دستخط آلے کی عوامی کلید سے جانچے جاتے ہیں؛ بھیجنے والے "
    "صرف کلید اور کردار سے پہچانے جاتے ہیں، نام سے کبھی نہیں۔",
    "how.5": "سرور کے بغیر سب کچھ جانچنے کے لیے چلائیں: pollwatch pack verify PACK --log-key KEY "
    "--witness-key "
    "KEY، وہ کلیدیں استعمال کریں جو الیکشن کے ناشر اور گواہوں سے ملیں، اس مجموعے سے نہیں۔",
    "custody": "ریکارڈ کی تحویل",
    "custody_note": "یہاں درج ہیں: حلقے کے سرکاری فارم اور اوپر مذکور پولنگ اسٹیشنوں کی ہر نقل۔ تمام {n} "
    "ریکارڈ کی تحویل (ماخذ، SHA-256، بھیجنے والے کی کلید اور کردار، اوقات، آلے کے دستخط، بعد کے چیک پوائنٹ) "
    "custody.json اور ہر پولنگ اسٹیشن کے فولڈر میں ہے۔",
    "leaf": "ریکارڈ",
    "form": "فارم",
    "submitter": "بھیجنے والا (کلید، کردار)",
    "captured": "تصویر کا وقت",
    "entered": "ریکارڈ میں اندراج",
    "first_checkpoint": "پہلا چیک پوائنٹ",
    "device_signature": "آلے کے دستخط",
    "yes": "ہاں",
    "no": "نہیں",
    "photo": "تصویر",
    "note.differs": "سرکاری عدد مختلف",
    "note.missing": "فارم 48 سے غائب",
}

_TEXT: Mapping[str, Mapping[str, str]] = {"en": _EN, "ur": _UR}


def words(lang: str) -> Mapping[str, str]:
    """The pack's words in ``lang``, falling back to English for any the translation lacks."""
    return {**_EN, **_TEXT.get(lang, {})}
