"""Observation forms from their data files: every shipped form loads, answers are checked by type and
tag, only the current version is accepted, QC rules are tag expressions and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from pollwatch.errors import InputError, NotFoundError
from pollwatch.observe import qc
from pollwatch.observe.forms import QuestionType, check_answers, current_form, forms_for, parse_form
from pollwatch.observe.incidents import by_sms, categories, category
from pollwatch.observe.text import screen_text

COUNT = {"CA": 120, "CB": 80, "CC": 200, "CD": 4, "CE": True, "CF": True, "CG": True, "CH": False,
         "CJ": True, "CK": True, "CL": False, "CM": True}  # fmt: skip


def test_pakistan_ships_four_forms_in_english_and_urdu_citing_the_act() -> None:
    forms = forms_for("PK")
    assert sorted(forms) == ["pk-count", "pk-opening", "pk-ro-tabulation", "pk-voting"]
    assert [forms[f].phase for f in sorted(forms)] == ["count", "opening", "tabulation", "voting"]
    assert forms["pk-ro-tabulation"].level.value == "constituency"
    count = forms["pk-count"]
    asked = {q.tag: q for q in count.questions}
    # What the issue names for the count: agents' signatures on Form-45, copies given, pasted outside.
    assert "sign Form-45" in asked["CJ"].text["en"]
    assert "given to the polling agents" in asked["CK"].text["en"]
    assert "pasted outside" in asked["CL"].text["en"]
    assert asked["CM"].rule is not None
    assert "s.13(2)" in asked["CM"].rule
    for spec in forms.values():
        for q in spec.questions:
            assert q.text["en"]
            assert q.text["ur"]
            assert any("\u0600" <= ch <= "\u06ff" for ch in q.text["ur"]), f"{spec.form} {q.tag} has no Urdu"
    assert forms_for("ZZ") == {}  # the core assumes no country: one with no forms simply has none


def test_answers_are_checked_by_type_and_every_problem_is_named() -> None:
    spec = forms_for("PK")["pk-count"]
    assert check_answers(spec, COUNT)["CA"] == 120
    bad: dict[str, Any] = {**COUNT, "CA": "120", "CB": -1, "CE": "yes", "CN": "25:00", "ZZ": 1}
    del bad["CC"]
    with pytest.raises(InputError) as caught:
        check_answers(spec, bad)
    where = {p.where: p for p in caught.value.problems}
    assert set(where) == {"answers.ZZ", "answers.CA", "answers.CB", "answers.CC", "answers.CE", "answers.CN"}
    assert where["answers.CC"].message == "a required question was not answered"
    assert "HH:MM" in where["answers.CN"].expected
    opening = forms_for("PK")["pk-opening"]
    multi = next(q for q in opening.questions if q.type is QuestionType.MULTI)
    base = {"AA": "07:55", "AB": True, "AC": 1200, "AD": True, "AF": True, "AH": True}
    assert check_answers(opening, {**base, multi.tag: ["PTI", "PML-N"]})[multi.tag] == ["PML-N", "PTI"]
    with pytest.raises(InputError, match="answers do not fit"):
        check_answers(opening, {**base, multi.tag: ["PTI", "PTI"]})
    with pytest.raises(InputError):
        check_answers(opening, {**base, multi.tag: ["Nobody"]})


def test_only_the_current_version_is_accepted() -> None:
    assert current_form("PK", "pk-count", 1).version == 1
    with pytest.raises(InputError) as outdated:
        current_form("PK", "pk-count", 0)
    assert "outdated; the current version is 1" in outdated.value.message
    assert outdated.value.problems[0].where == "version"
    with pytest.raises(InputError, match="unknown; the current version is 1"):
        current_form("PK", "pk-count", 7)
    with pytest.raises(NotFoundError) as missing:
        current_form("PK", "pk-closing", 1)
    assert "pk-count" in missing.value.problems[0].expected


def test_qc_rules_are_tag_expressions_and_nothing_else() -> None:
    spec = forms_for("PK")["pk-count"]
    rules = [r.rule for r in spec.qc]
    assert qc.failures(rules, COUNT) == []
    assert qc.failures(rules, {**COUNT, "CC": 201}) == ["men_and_women_make_the_total"]
    assert qc.failures(rules, {**COUNT, "CD": 500}) == ["excluded_within_polled"]
    partial = {k: v for k, v in COUNT.items() if k != "CB"}
    assert qc.failures(rules, partial) == []  # a rule whose tags are not all answered does not apply
    expression = "not (AA > 1 and AB < 2) or AA - 3 * AB / 1 == 0 or 0 <= -AA < AB"
    rule = qc.Rule.parse("r", expression, known={"AA", "AB"})
    for aa in range(-3, 6):
        for ab in range(-1, 4):  # Python's own evaluator as the reference
            assert rule.check({"AA": aa, "AB": ab}) is bool(eval(expression, {}, {"AA": aa, "AB": ab}))
    for hostile in ("__import__('os')", "AA.real", "[AA]", "AA if AB else 1", "lambda: 1", "AA ** 99"):
        with pytest.raises(InputError):
            qc.Rule.parse("r", hostile, known={"AA", "AB"})
    with pytest.raises(InputError, match="a tag the form does not have"):
        qc.Rule.parse("r", "AA + XX == 1", known={"AA"})


def test_a_malformed_form_file_is_refused() -> None:
    good: dict[str, Any] = {"form": "x", "version": 1, "phase": "p", "title": {"en": "X", "ur": "ایکس"},
            "questions": [{"tag": "AA", "type": "count", "en": "a", "ur": "ب"}]}  # fmt: skip
    assert parse_form(good, country="ZZ").questions[0].tag == "AA"
    for broken in (
        {**good, "questions": [{"tag": "aa", "type": "count", "en": "a", "ur": "ب"}]},
        {**good, "questions": [{"tag": "AA", "type": "colour", "en": "a", "ur": "ب"}]},
        {**good, "questions": [{"tag": "AA", "type": "select", "en": "a", "ur": "ب"}]},
        {**good, "questions": [{"tag": "AA", "type": "count", "en": "a"}]},
        {**good, "questions": good["questions"] * 2},
        {**good, "qc": [{"name": "r", "rule": "AB == 1", "en": "a", "ur": "ب"}]},
    ):
        with pytest.raises(InputError, match="malformed|QC rule"):
            parse_form(broken, country="ZZ")


def test_free_text_may_not_carry_contact_details() -> None:
    screen_text("Agents were sent out at 18:40 before the count; 2 boxes unsealed", where="t")
    for leaky in ("call +92 300 1234567", "ring 0300-1234567 now", "mail someone@example.org",
                  "رابطہ ۰۳۰۰۱۲۳۴۵۶۷"):  # fmt: skip
        with pytest.raises(InputError, match="phone number or an e-mail address"):
            screen_text(leaky, where="t")


def test_the_incident_taxonomy_has_stable_sms_codes() -> None:
    cats = categories()
    assert len(cats) >= 15
    assert category("late_opening").sms == 1
    assert category("box_unsealed").sms == 7
    assert category("observers_barred").sms == 8
    assert category("voters_turned_away").sms == 12
    assert by_sms(7) is category("box_unsealed")
    assert by_sms(1234) is None
    with pytest.raises(InputError, match="unknown incident category"):
        category("aliens")
