import re

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.contacts import rules


def test_name_key_ignores_case_accents_punctuation_and_legal_form():
    assert rules.name_key("Müller GmbH") == rules.name_key("MULLER") == "muller"
    assert rules.name_key("ACME Ltd.") == rules.name_key("acme limited")
    assert rules.name_key("Acme Tools") != rules.name_key("Acme")


def test_name_key_keeps_a_name_made_only_of_legal_words():
    assert rules.name_key("AB") == "ab"
    assert rules.name_key("The Co Ltd") == "the co ltd"


def test_postcode_key_ignores_spaces_and_case():
    assert rules.postcode_key("sw1a 1aa") == rules.postcode_key("SW1A1AA")


def test_tags_are_lower_case_unique_and_sorted():
    assert rules.normalise_tags("VIP, export ,vip;Export") == "export, vip"
    assert rules.normalise_tags(" , ") is None


def test_every_problem_of_a_contact_is_reported_not_only_the_first():
    problems = rules.check_contact({"kind": "organisation", "name": "", "country": "XX", "email": "nope"})
    assert {p.field for p in problems} == {"name", "country", "email"}


def test_a_person_needs_a_last_name_and_cannot_be_an_organisations_member_if_organisation():
    assert [p.field for p in rules.check_contact({"kind": "person", "first_name": "A", "country": "GB"})] == ["last_name"]
    org = {"kind": "organisation", "name": "X", "country": "GB", "organisation_id": 3}
    assert [p.code for p in rules.check_contact(org)] == ["invalid"]


def test_country_codes_are_iso_alpha2():
    assert rules.is_country("DE") and not rules.is_country("XX") and not rules.is_country("DEU")
    assert "GB" in rules.country_codes()


@settings(deadline=None)   # a slow example on a busy machine says nothing of the rule
@given(st.lists(st.sampled_from(list("abcAB z09,.-&ü") + ["ltd", " gmbh", "The ", "  "]), max_size=12).map("".join))
def test_name_key_shortcut_for_tidy_names_agrees_with_the_full_rule(name):
    """name_key returns a tidy lower-case ASCII name as it is; the full rule must agree."""
    words = re.findall(r"[a-z0-9]+", rules.strip_accents(name).casefold())
    kept = [w for w in words if w not in rules.LEGAL_FORMS]
    assert rules.name_key(name) == " ".join(kept or words)


CONTACT_ROWS = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["person", "person", "organisation", "robot", None]),
    "opt_out": st.booleans(),
}, optional={
    "name": st.sampled_from(["Acme", "", "  ", None, "N" * 201, "Ac\tme"]),
    "first_name": st.sampled_from(["Ann", None, "A" * 101, "A\x00"]),
    "last_name": st.sampled_from(["Lee", "Lee", "", " ", None, "L" * 101, "Le\ne"]),
    "organisation_id": st.sampled_from([None, 0, 3, 2 ** 31]),
    "country": st.sampled_from(["GB", "GB", "gb", "XX", "", None, "ß", "G\tB"]),
    "email": st.sampled_from(["ann@example.org", "ann@example.org", None, "", "Ann@Example.org", "bad", ".a@b.co",
                              "a..b@c.de", "a.@b.co", "a@b.co\nb@c.de", "ünï@exämple.org", "a@b\t.co"]),
    "tags": st.sampled_from(["vip", None, "t" * 401]),
    "notes": st.sampled_from(["two\nlines", "nul\x00"]),
}), max_size=10)


@settings(deadline=None, max_examples=300)
@given(CONTACT_ROWS)
def test_the_rule_over_a_sheets_rows_finds_what_it_finds_in_each(rows):
    """check_contacts (a sheet's rows, a column at a time) is check_contact of each row."""
    assert [list(found) for found in rules.check_contacts(rows)] == [rules.check_contact(row) for row in rows]


@settings(deadline=None, max_examples=100)
@given(CONTACT_ROWS, st.lists(st.integers(min_value=0, max_value=199), max_size=10))
def test_the_rule_over_many_rows_finds_the_few_odd_ones(odd, where):
    rows = [{"kind": "person", "last_name": "Lee", "country": "GB", "email": "ann@example.org", "opt_out": False}
            for _ in range(200)]
    for row, at in zip(odd, where, strict=False):
        rows[at] = row
    assert [list(found) for found in rules.check_contacts(rows)] == [rules.check_contact(row) for row in rows]
