"""Labels: records named as people know them, both ways (engine.sheets.labels)."""

from __future__ import annotations

import pytest

from engine.sheets import labels as labels_module
from engine.sheets.labels import Choice, LabelError, Labels, LaterLabels


def test_each_record_shows_its_label_and_is_read_back_from_it():
    labels = Labels([Choice(1, "Acme Ltd"), Choice(2, "Bolt & Co")])
    assert labels.show(1) == "Acme Ltd" and labels.show(3) == "#3" and labels.show(None) is None
    assert labels.resolve("Acme Ltd", "Contact") == 1
    assert labels.resolve("bolt & co", "Contact") == 2      # whatever the case
    assert labels.resolve("#7", "Contact") == 7
    assert labels.shown() == {"Acme Ltd": 1, "Bolt & Co": 2}


def test_a_key_alone_names_its_record():
    labels = Labels([Choice(5, "SKU-1 Bolt", "SKU-1"), Choice(6, "SKU-2 Nut", "SKU-2")])
    assert labels.resolve("sku-1", "Item") == 5
    assert labels.resolve("SKU-2 Nut", "Item") == 6


@pytest.mark.parametrize("second", ["Acme Ltd", "ACME LTD"])
def test_a_shared_label_is_shown_with_its_id_and_alone_is_ambiguous(second):
    labels = Labels([Choice(12, "Acme Ltd"), Choice(15, second), Choice(16, "Other")])
    assert labels.show(12) == "Acme Ltd #12" and labels.show(15) == f"{second} #15"
    assert labels.show(16) == "Other"
    assert labels.resolve("Acme Ltd #15", "Contact") == 15
    with pytest.raises(LabelError) as refused:
        labels.resolve("acme ltd", "Contact")
    assert refused.value.code == "ambiguous"
    assert "'Acme Ltd #12'" in str(refused.value) and f"'{second} #15'" in str(refused.value)


def test_the_files_own_labels_come_first_and_are_not_copied_or_changed():
    given = {"Old Name": 1}
    labels = Labels([Choice(1, "New Name"), Choice(2, "Old Name")], given)
    assert labels.resolve("Old Name", "Contact") == 1       # as the file meant it
    assert labels.resolve("New Name", "Contact") == 1       # its label today
    assert given == {"Old Name": 1}


def test_a_label_naming_nothing_says_what_to_do():
    with pytest.raises(LabelError) as refused:
        Labels([Choice(1, "Acme Ltd")]).resolve("Nobody", "Contact")
    assert refused.value.code == "reference" and "#ID" in str(refused.value)


def test_labels_unique_but_for_case_are_told_apart_by_hash_and_then_for_real(monkeypatch):
    unique = labels_module._unique_casefolded
    assert unique(["a", "b", "C"]) and unique([])
    assert not unique(["Acme", "ACME"])
    # equal hashes for different labels (rare): the labels are compared for real
    monkeypatch.setattr(labels_module, "hash", lambda _text: 0, raising=False)
    assert unique(["a", "b"])
    assert not unique(["x", "X"])


def test_later_labels_read_their_records_only_when_first_used_and_once():
    reads = []

    def offered():
        reads.append(1)
        return [Choice(1, "Acme Ltd"), Choice(2, "Bolt & Co")]

    labels = LaterLabels(offered, {"Old Name": 1})
    assert not labels.loaded and reads == []
    assert labels.show(2) == "Bolt & Co" and labels.loaded and reads == [1]
    assert labels.resolve("Old Name", "Contact") == 1 and labels.resolve("acme ltd", "Contact") == 1
    assert labels.load() is labels and reads == [1]
    assert LaterLabels(offered).load().shown() == {"Acme Ltd": 1, "Bolt & Co": 2} and reads == [1, 1]
    with pytest.raises(AttributeError):
        labels.no_such_thing  # noqa: B018
    plain = Labels([Choice(1, "Acme Ltd")])
    assert plain.loaded and plain.load() is plain
