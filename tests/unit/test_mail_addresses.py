"""Address blocks laid out as each country's post expects them, with real addresses."""

from __future__ import annotations

import pytest

from engine.contacts.models import Address, Contact
from engine.mailmerge.addresses import address_block, country_name


def org(name: str, country: str) -> Contact:
    return Contact(kind="organisation", name=name, country=country)


def at(country: str, line1: str, city: str, postcode: str | None = None, region: str | None = None,
       line2: str | None = None) -> Address:
    return Address(kind="billing", line1=line1, line2=line2, city=city, postcode=postcode, region=region,
                   country=country)


@pytest.mark.parametrize(("contact", "address", "sender", "expected"), [
    # Royal Mail: post town in capitals, the postcode on a line of its own; no county needed
    (org("Leeds City Council", "GB"), at("GB", "Civic Hall", "Leeds", "ls1 1ur", "West Yorkshire"), "GB",
     ["Leeds City Council", "Civic Hall", "LEEDS", "LS1 1UR"]),
    # USPS: City, ST ZIP; a state typed in full becomes its two-letter code
    (org("Illinois State Museum", "US"), at("US", "502 S Spring St", "Springfield", "62706", "Illinois"), "US",
     ["Illinois State Museum", "502 S Spring St", "Springfield, IL 62706"]),
    (org("Apple Inc.", "US"), at("US", "One Apple Park Way", "Cupertino", "95014", "CA"), "GB",
     ["Apple Inc.", "One Apple Park Way", "Cupertino, CA 95014", "UNITED STATES"]),
    # Deutsche Post: postcode before the town, no Land
    (org("Bundeskanzleramt", "DE"), at("DE", "Willy-Brandt-Straße 1", "Berlin", "10557", "Berlin"), "DE",
     ["Bundeskanzleramt", "Willy-Brandt-Straße 1", "10557 Berlin"]),
    (org("Stadt Wien", "AT"), at("AT", "Friedrich-Schmidt-Platz 1", "Wien", "1010"), "DE",
     ["Stadt Wien", "Friedrich-Schmidt-Platz 1", "1010 Wien", "AUSTRIA"]),
    (org("Rijksmuseum", "NL"), at("NL", "Museumstraat 1", "Amsterdam", "1071 XX"), "NL",
     ["Rijksmuseum", "Museumstraat 1", "1071 XX Amsterdam"]),
    (org("Bundeshaus", "CH"), at("CH", "Bundesplatz 3", "Bern", "3005"), "CH",
     ["Bundeshaus", "Bundesplatz 3", "3005 Bern"]),
    # La Poste: the town in capitals
    (org("Musée du Louvre", "FR"), at("FR", "Rue de Rivoli", "Paris", "75001"), "FR",
     ["Musée du Louvre", "Rue de Rivoli", "75001 PARIS"]),
    # Poste Italiane: postcode, town and province in capitals
    (org("Comune di Roma", "IT"), at("IT", "Piazza del Campidoglio 1", "Roma", "00186", "rm"), "IT",
     ["Comune di Roma", "Piazza del Campidoglio 1", "00186 ROMA RM"]),
    (org("Museo del Prado", "ES"), at("ES", "Calle de Ruiz de Alarcón 23", "Madrid", "28014", "Madrid"), "ES",
     ["Museo del Prado", "Calle de Ruiz de Alarcón 23", "28014 Madrid", "Madrid"]),
    (org("Sydney Opera House", "AU"), at("AU", "Bennelong Point", "Sydney", "2000", "New South Wales"), "AU",
     ["Sydney Opera House", "Bennelong Point", "SYDNEY NSW 2000"]),
    (org("Ville de Luxembourg", "LU"), at("LU", "42 Place Guillaume II", "Luxembourg", "1648"), "BE",
     ["Ville de Luxembourg", "42 Place Guillaume II", "L-1648 Luxembourg", "LUXEMBOURG"]),
    # A country without its own layout: postcode and town, then the region
    (org("Nairobi National Museum", "KE"), at("KE", "Museum Hill Road", "Nairobi", "00100", "Nairobi County"), "GB",
     ["Nairobi National Museum", "Museum Hill Road", "00100 Nairobi", "Nairobi County", "KENYA"]),
])
def test_address_blocks_follow_the_destination_countrys_post(contact, address, sender, expected):
    assert address_block(contact, address, from_country=sender) == expected


def test_a_person_in_an_organisation_gets_their_name_then_the_organisation():
    company = org("Acme Ltd", "GB")
    person = Contact(kind="person", name="Jo Smith", first_name="Jo", last_name="Smith", country="GB",
                     organisation=company)
    block = address_block(person, at("GB", "1 High St", "York", "YO1 7HH", line2="Unit 4"), from_country="GB")
    assert block == ["Jo Smith", "Acme Ltd", "1 High St", "Unit 4", "YORK", "YO1 7HH"]


def test_the_country_is_the_last_line_in_capitals_when_the_letter_goes_abroad_or_the_sender_is_unknown():
    acme = org("Acme", "KR")
    seoul = at("KR", "110 Sejong-daero, Jung-gu", "Seoul", "04524")
    assert address_block(acme, seoul, from_country="kr")[-1] == "04524"
    assert address_block(acme, seoul, from_country="DE")[-1] == "SOUTH KOREA"      # the everyday name
    assert address_block(acme, seoul)[-1] == "SOUTH KOREA"
    assert country_name("GB") == "United Kingdom" and country_name("XX") == "XX"


def test_missing_parts_leave_no_stray_commas_or_blank_lines():
    assert address_block(org("A", "US"), at("US", "1 Main St", "Springfield", "62704"), "US") == [
        "A", "1 Main St", "Springfield 62704"]
    assert address_block(org("B", "DE"), at("DE", "Hauptstr. 1", "Berlin"), "DE") == ["B", "Hauptstr. 1", "Berlin"]
    assert address_block(org("C", "GB"), at("GB", "1 High St", "Leeds"), "GB") == ["C", "1 High St", "LEEDS"]


def test_line_breaks_typed_into_a_field_do_not_add_lines():
    block = address_block(org("Acme\r\nLtd", "GB"), at("GB", "1 High St\n", "Leeds", "LS1 4AP"), "GB")
    assert block == ["Acme Ltd", "1 High St", "LEEDS", "LS1 4AP"]


def test_without_an_address_only_the_name_is_given():
    assert address_block(org("Acme Ltd", "GB"), None) == ["Acme Ltd"]
