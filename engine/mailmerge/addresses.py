"""Postal address blocks, laid out the way the destination country's post expects them.

The lines are the recipient's name (and their organisation, for a person who belongs to
one), the street lines, then the locality in the country's own order, e.g.

    GB  LEEDS                 (post town in capitals, postcode on a line of its own)
        LS1 4AP
    US  Springfield, IL 62704 (city, state code, ZIP)
    DE  10115 Berlin          (postcode before the town; so AT, CH, NL, BE, DK, ...)
    FR  75008 PARIS           (the town in capitals)
    IT  00184 ROMA RM         (postcode, town and province)

and, last, the country's name in capitals when the letter goes abroad: when the sender's
country (`from_country`) differs from the address's, or when the sender's country is not
given (an address with its country is never wrong).

The layouts follow the postal conventions collected in Google's address data (libaddressinput)
and the UPU's guidance; a country not listed gets "postcode town" with the region on a
line of its own, which the post of most countries understands.
"""

from __future__ import annotations

import re
from typing import Any

import pycountry

# Per country: the locality lines (%C town, %S region, %Z postcode) and which of those are
# written in capitals. Street lines and names are always as typed.
_LAYOUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "GB": (("%C", "%Z"), "CZ"),
    "IE": (("%C", "%S", "%Z"), "Z"),
    "US": (("%C, %S %Z",), "S"),
    "CA": (("%C %S  %Z",), "CSZ"),
    "AU": (("%C %S %Z",), "CS"),
    "NZ": (("%C %Z",), ""),
    "IN": (("%C %Z", "%S"), ""),
    "ZA": (("%C", "%Z"), ""),
    "SG": (("SINGAPORE %Z",), ""),
    "HK": (("%C", "%S"), "CS"),
    "BR": (("%C-%S", "%Z"), "S"),
    "MX": (("%Z %C, %S",), ""),
    "AR": (("%Z %C", "%S"), "CS"),
    "FR": (("%Z %C",), "C"),
    "MC": (("%Z %C",), "C"),
    "LU": (("L-%Z %C",), ""),
    "IT": (("%Z %C %S",), "CS"),
    "ES": (("%Z %C", "%S"), ""),
    "PT": (("%Z %C",), ""),
    "FI": (("%Z %C",), "C"),
    "SE": (("%Z %C",), "C"),
    "NO": (("%Z %C",), ""),
    "DK": (("%Z %C",), ""),
    "IS": (("%Z %C",), ""),
    "JP": (("%C, %S %Z",), ""),
    "KR": (("%C", "%S", "%Z"), ""),
    "CN": (("%C", "%S", "%Z"), ""),
    "RU": (("%C", "%S", "%Z"), "C"),
    "UA": (("%C", "%S", "%Z"), ""),
}
# Postcode first, the town after it, no region: most of continental Europe.
for _code in ("DE", "AT", "CH", "LI", "NL", "BE", "PL", "CZ", "SK", "SI", "HR", "HU", "RO", "BG", "GR",
              "CY", "EE", "LV", "LT", "RS", "BA", "ME", "MK", "AL", "TR", "IL", "MD", "BY"):
    _LAYOUTS.setdefault(_code, (("%Z %C",), ""))
_DEFAULT = (("%Z %C", "%S"), "")

_FIELD = re.compile(r"%([CSZ])")


def country_name(code: str | None) -> str:
    """The country's everyday English name ("South Korea", "United Kingdom"), or the code."""
    if not code:
        return ""
    found = pycountry.countries.get(alpha_2=code.upper())
    if found is None:
        return code.upper()
    return getattr(found, "common_name", None) or found.name


def _region(country: str, region: str | None) -> str:
    """A US, Canadian or Australian state written as its postal code ("California" -> "CA")."""
    region = (region or "").strip()
    if country in ("US", "CA", "AU") and region and len(region) > 3:
        for subdivision in pycountry.subdivisions.get(country_code=country) or ():
            if subdivision.name.casefold() == region.casefold():
                return subdivision.code.split("-", 1)[1]
    return region


def _fill(line: str, values: dict[str, str]) -> str:
    """One locality line with its fields filled in. An empty field is left out with the text
    before it ("%C, %S %Z" without a state: "Springfield 62704"); text before the line's first
    field ("L-%Z", "SINGAPORE %Z") is kept only when that field is there."""
    pieces = _FIELD.split(line)            # [text, field, text, field, ..., text]
    out = ""
    for n in range(1, len(pieces), 2):
        value = values[pieces[n]]
        if not value:
            continue
        before = pieces[n - 1]
        out += (before if out or n == 1 else "") + value
    return out.strip()


def _locality(country: str, city: str, region: str, postcode: str) -> list[str]:
    lines, upper = _LAYOUTS.get(country, _DEFAULT)
    values = {"C": city, "S": region, "Z": postcode}
    values = {k: v.upper() if k in upper else v for k, v in values.items()}
    return [text for text in (_fill(line, values) for line in lines) if text]


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def name_lines(contact: Any) -> list[str]:
    """Who the letter is for: an organisation's name; a person's name, then their organisation's."""
    lines = [_text(getattr(contact, "name", ""))]
    organisation = getattr(contact, "organisation", None)
    if getattr(contact, "kind", None) == "person" and organisation is not None:
        lines.append(_text(organisation.name))
    return [line for line in lines if line]


def address_block(contact: Any, address: Any, from_country: str | None = None) -> list[str]:
    """The lines of the address block on an envelope or a letter to `contact` at `address`
    (an `Address`, or anything with line1, line2, city, postcode, region and country).

    `from_country`: the sender's ISO country code; the country's name is added as the last
    line when the address is in another country, or when `from_country` is not given.
    With no address, only the name lines are given.
    """
    lines = name_lines(contact)
    if address is None:
        return lines
    country = (getattr(address, "country", None) or getattr(contact, "country", None) or "").upper()
    lines += [_text(getattr(address, "line1", None)), _text(getattr(address, "line2", None))]
    lines += _locality(country, _text(getattr(address, "city", None)),
                       _region(country, _text(getattr(address, "region", None))),
                       _text(getattr(address, "postcode", None)))
    if country and (from_country is None or from_country.upper() != country):
        lines.append(country_name(country).upper())
    return [line for line in lines if line]
