"""Scoring likely duplicate contacts (pure: no database), and the merge's pure parts."""

from __future__ import annotations

import pytest

from engine.contacts import duplicates as d
from engine.contacts.demo_duplicates import mistyped, other_legal_form, written_otherwise
from engine.mailmerge.contact_merge import repointed_ids, repointed_skipped


def party(id: int, name: str, kind: str = "organisation", country: str = "GB", emails=(), phones=(),
          postcodes=()) -> d.Party:
    return d.Party(id, name, kind, country, d.match_key(name), set(emails),
                   {d.phone_key(p) for p in phones}, set(postcodes))


def test_a_phone_number_is_compared_by_its_last_nine_digits_however_written():
    assert d.phone_key("+44 20 7946 0000") == d.phone_key("020 7946 0000") == d.phone_key("(020) 7946-0000")
    assert d.phone_key("+44 20 7946 0001") != d.phone_key("020 7946 0000")
    assert d.phone_key("12 34") is None and d.phone_key(None) is None


@pytest.mark.parametrize("a, b", [("Wright LLC", "Wright L.L.C."), ("Müller GmbH", "MÜLLER AG"),
                                  ("Acme Ltd.", "ACME limited"), ("Drewes Wagner e.G.", "Drewes Wagner")])
def test_legal_forms_punctuation_and_accents_do_not_count(a, b):
    assert d.match_key(a) == d.match_key(b)


def test_a_name_spelt_another_way_has_the_same_skeleton():
    assert d.name_skeleton("mueller") == d.name_skeleton("muller")
    assert d.name_skeleton("jon smith") == d.name_skeleton("smith john")
    assert d.name_skeleton("meyer") == d.name_skeleton("meier")
    assert d.name_skeleton("jones") != d.name_skeleton("smith")


def test_similar_names_score_by_characters_and_words():
    assert d.name_similarity("acme", "acme") == 1
    assert d.name_similarity("drewes wagner", "derwes wagner") > 0.9
    assert d.name_similarity("acme trading", "acme trading europe") == 0.85     # all its words in the other
    assert d.name_similarity("john smith", "mary jones") < d.SIMILAR


def test_the_score_adds_name_e_mail_phone_postcode_kind_and_country():
    acme = party(1, "Acme Ltd", emails={"info@acme.example"}, phones={"020 7946 0000"}, postcodes={"EC1A1BB"})
    same_everything = party(2, "ACME Limited", emails={"info@acme.example"}, phones={"+44 20 7946 0000"},
                            postcodes={"EC1A1BB"})
    assert d.score(acme, same_everything) == (100, ("same name", "same e-mail info@acme.example",
                                                    "same phone number (ending 460000)", "same postcode EC1A1BB"))
    assert d.score(acme, party(3, "Acme Ltd")) == (d.SAME_NAME + d.SAME_KIND + d.SAME_COUNTRY, ("same name",))
    points, reasons = d.score(acme, party(4, "Acme Ltd", kind="person", country="DE"))
    assert points == d.SAME_NAME + d.OTHER_KIND + d.OTHER_COUNTRY
    assert reasons[1:] == ("one is an organisation, the other a person", "different countries (GB, DE)")
    assert d.score(acme, party(5, "Bolt Supply")) == (10, ())


def test_only_contacts_sharing_a_group_are_compared():
    parties = [party(1, "Acme Ltd"), party(2, "Bolt Supply", postcodes={"EC1A1BB"}),
               party(3, "Crane Hire", postcodes={"EC1A1BB"}), party(4, "Mueller Tools"), party(5, "Muller Tools"),
               party(6, "Zenith", emails={"a@z.example"}), party(7, "Nadir", emails={"a@z.example"})]
    assert d.candidate_pairs(parties) == {(1, 2), (3, 4), (5, 6)}


def test_a_group_too_large_to_tell_anything_proposes_no_pairs():
    crowd = [party(n, f"Firm {n}", postcodes={"EC1A1BB"}) for n in range(d.MAX_GROUP + 1)]
    assert d.candidate_pairs(crowd) == set()
    assert len(d.candidate_pairs(crowd[:3])) == 3


def test_likely_duplicates_come_best_first_above_the_minimum_score():
    parties = [party(1, "Acme Ltd", postcodes={"EC1A1BB"}), party(2, "Bolt Supply"), party(3, "Acme plc"),
               party(4, "ACME Limited", postcodes={"EC1A1BB"}), party(5, "Bolt Suply")]
    found = d.likely_duplicates(parties)
    assert [(p.first.id, p.second.id, p.score) for p in found] == [(1, 4, 75), (1, 3, 60), (3, 4, 60), (2, 5, 53)]
    assert [p.score for p in d.likely_duplicates(parties, min_score=70)] == [75]
    assert len(d.likely_duplicates(parties, limit=2)) == 2


def test_a_mail_runs_contact_ids_follow_the_merge_once():
    skipped = [{"contact_id": 7, "name": "Acme", "reason": "opted out"}, {"contact_id": 3, "name": "B", "reason": "x"}]
    assert repointed_skipped(skipped, 7, 5) == [{"contact_id": 5, "name": "Acme", "reason": "opted out"}, skipped[1]]
    both = [{"contact_id": 5, "name": "A"}, {"contact_id": 7, "name": "A2"}]
    assert repointed_skipped(both, 7, 5) == [{"contact_id": 5, "name": "A"}]
    assert repointed_ids({"ids": [5, 7, 9]}, 7, 5) == {"ids": [5, 9]}
    assert repointed_ids({"tag": "vip"}, 7, 5) == {"tag": "vip"}


def test_the_demos_duplicates_are_typed_another_way():
    assert other_legal_form("Wright LLC") == "Wright L.L.C."
    assert other_legal_form("Smith and Sons") == "Smith and Sons Ltd"
    assert mistyped("Drewes Wagner e.G.") == "Derwes Wagner e.G."
    assert written_otherwise("+44(0)151 496 0348") == "(4401514) 960-348"
    assert d.phone_key(written_otherwise("+44(0)151 496 0348")) == d.phone_key("+44(0)151 496 0348")
