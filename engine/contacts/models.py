"""Contacts tables: one party table for organisations and people, their postal addresses,
e-mail addresses and phone numbers.

One table for both kinds means every other module (an invoice, a letter, a complaint) refers
to "a contact" with one foreign key, and a customer's name and address are typed once.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.base import Base, Record

CONTACT_KINDS = ("organisation", "person")
ADDRESS_KINDS = ("billing", "shipping")
EMAIL_KINDS = ("work", "home", "other")
PHONE_KINDS = ("work", "mobile", "home", "fax", "other")


class Contact(Record, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint("kind IN ('organisation', 'person')", name="kind"),
        CheckConstraint("organisation_id IS NULL OR kind = 'person'", name="only_people_belong"),
        # Only the people who belong to an organisation: it is looked up by organisation
        # (its members, and whether one may be deleted), never for "nobody", and most
        # contacts belong to none (migration 0020).
        Index("ix_contacts_organisation_id", "organisation_id",
              sqlite_where=text("organisation_id IS NOT NULL"), postgresql_where=text("organisation_id IS NOT NULL")),
    )

    # No index on kind: with two values it would only slow every insert down.
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    # Organisations: their name. People: "First Last", kept by the services.
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    job_title: Mapped[str | None] = mapped_column(String(100))
    # The primary e-mail (kept in step with its entry in contact_emails), not indexed here:
    # look-ups by address go through contact_emails.address, which holds it too (0021).
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    tags: Mapped[str | None] = mapped_column(String(400))
    opt_out: Mapped[bool] = mapped_column(default=False, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    # Normalised name for duplicate detection ("ACME Ltd." and "acme" match).
    name_key: Mapped[str] = mapped_column(String(200), nullable=False, index=True)

    organisation: Mapped[Contact | None] = relationship(remote_side="Contact.id")
    addresses: Mapped[list[Address]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="Address.id"
    )
    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.id"
    )
    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactPhone.id"
    )


class Address(Record, Base):
    __tablename__ = "addresses"
    __table_args__ = (CheckConstraint("kind IN ('billing', 'shipping')", name="kind"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="billing")
    line1: Mapped[str] = mapped_column(String(200), nullable=False)
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    postcode: Mapped[str | None] = mapped_column(String(20), index=True)
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), nullable=False)

    contact: Mapped[Contact] = relationship(back_populates="addresses")


class ContactEmail(Record, Base):
    """One of a contact's e-mail addresses. The primary one is also `contacts.email` (kept
    in step by the services), which is the address the mail merge writes to."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        CheckConstraint(f"kind IN {EMAIL_KINDS}", name="kind"),
        UniqueConstraint("contact_id", "address"),
    )

    # (found by contact through the unique constraint's index, which starts with contact_id)
    # (its check may wait for the end of the transaction: see channels.add_primaries, 0022)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE", deferrable=True,
                                                       initially="IMMEDIATE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="work")
    address: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    is_primary: Mapped[bool] = mapped_column(default=False, nullable=False)

    contact: Mapped[Contact] = relationship(back_populates="emails")


class ContactPhone(Record, Base):
    """One of a contact's phone numbers. The primary one is also `contacts.phone`.
    `digits` is the number without spaces or punctuation, for finding duplicates."""

    __tablename__ = "contact_phones"
    __table_args__ = (
        CheckConstraint(f"kind IN {PHONE_KINDS}", name="kind"),
        UniqueConstraint("contact_id", "number"),
    )

    # (found by contact through the unique constraint's index, which starts with contact_id)
    # (its check may wait for the end of the transaction: see channels.add_primaries, 0022)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE", deferrable=True,
                                                       initially="IMMEDIATE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="work")
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    digits: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    is_primary: Mapped[bool] = mapped_column(default=False, nullable=False)

    contact: Mapped[Contact] = relationship(back_populates="phones")
