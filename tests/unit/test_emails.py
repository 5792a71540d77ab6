"""The e-mail address check (engine.emails), of one address and of a column of them."""

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.emails import check_email, doubtful_emails

ADDRESSES = st.one_of(
    st.none(), st.sampled_from(["", "ann@example.org", "Ann.Lee+x@mail.example.co.uk", "bad", ".a@b.co", "a..b@c.de",
                                "a.@b.co", "a@b", "a@-b.co", "ünï@exämple.org", "a@b.co\nb@c.de", "a b@c.de", 5]),
    st.text(alphabet="ab.@\n-é", max_size=8),
)


@settings(deadline=None, max_examples=300)
@given(st.lists(ADDRESSES, max_size=8))
def test_a_columns_look_finds_every_address_the_check_refuses(values):
    refused = {at for at, value in enumerate(values) if isinstance(value, str) and check_email(value) is not None}
    assert refused <= set(doubtful_emails(values))


def test_a_column_of_plain_addresses_needs_no_address_checked_alone():
    assert doubtful_emails(["ann@example.org", None, "", "bob.lee@mail.example.co.uk"]) == []
    assert doubtful_emails(["ann@example.org", "bad", ".a@b.co", "a@b.co\nb@c.de"]) == [1, 2, 3]


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(ADDRESSES, st.integers(min_value=0, max_value=299)), max_size=5))
def test_a_long_columns_look_finds_its_few_odd_addresses(odd):
    values = ["ann@example.org"] * 300
    for value, at in odd:
        values[at] = value
    refused = {at for at, value in enumerate(values) if isinstance(value, str) and check_email(value) is not None}
    assert refused <= set(doubtful_emails(values))
