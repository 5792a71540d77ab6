"""Quality tables: inspection plans and their characteristics, the switching state of each
plan's supplier, inspections of lots with every measurement, the dispositions of held lots,
and nonconformance reports with their corrective and preventive actions.

An inspection's result is never typed: `accepted` and each measurement's `conforms` are
worked out from the measurements and the plan (`rules.decide`), and stored with the figures
they were decided by (sample size, Ac, Re), so a later change to a plan does not rewrite what
was decided. A lot's status itself is inventory's (`lots.status`); quality is the only one
that changes it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import engine.inventory.models  # noqa: F401  (plans and inspections refer to items and lots)
import engine.security.models  # noqa: F401  (owners and verifiers are users)
from engine.db.base import Base, Record
from engine.db.exact import Exact

SAMPLING_METHODS = ("standard", "fixed")           # ISO 2859-1 tables, or a fixed sample size
CHARACTERISTIC_KINDS = ("measured", "attribute")
DEFECT_CLASSES = ("critical", "major", "minor")
SEVERITIES = ("normal", "tightened", "reduced", "discontinued")
DECISIONS = ("release", "rework", "scrap", "return")
NCR_SEVERITIES = DEFECT_CLASSES
NCR_STATES = ("open", "investigating", "action", "verification", "closed")
ROOT_CAUSE_METHODS = ("5 whys", "fishbone")
# The fishbone's six Ms (Ishikawa).
FISHBONE_CATEGORIES = ("people", "machine", "method", "material", "measurement", "environment")
ACTION_KINDS = ("corrective", "preventive")
ACTION_STATES = ("open", "done")

MEASURE = 6   # decimal places of a measurement or a limit (a micrometre in millimetres)
AQL = 3       # decimal places of an AQL (0.010 is the smallest)


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class InspectionPlan(Record, Base):
    """How lots of an item are inspected: for one supplier's lots, or (no supplier) for every
    supplier without a plan of its own."""

    __tablename__ = "inspection_plans"
    __table_args__ = (
        UniqueConstraint("item_id", "supplier_key"),
        CheckConstraint(_one_of("sampling", SAMPLING_METHODS), name="sampling"),
        CheckConstraint("(sampling = 'fixed' AND sample_size > 0 AND accept_number >= 0) OR "
                        "(sampling = 'standard' AND aql > 0)", name="sampling_figures"),
    )

    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), nullable=False, index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    supplier_key: Mapped[int] = mapped_column(nullable=False, default=0)   # the supplier's id, or 0: one plan each
    sampling: Mapped[str] = mapped_column(String(8), nullable=False, default="standard")
    level: Mapped[str] = mapped_column(String(4), nullable=False, default="II")
    aql: Mapped[Decimal | None] = mapped_column(Exact(AQL))
    sample_size: Mapped[int | None] = mapped_column()      # fixed sampling
    accept_number: Mapped[int | None] = mapped_column()    # fixed sampling
    switching: Mapped[bool] = mapped_column(nullable=False, default=True)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    notes: Mapped[str | None] = mapped_column(Text)


class Characteristic(Record, Base):
    """What is checked on every sample unit: a measurement within limits, or pass/fail."""

    __tablename__ = "plan_characteristics"
    __table_args__ = (
        UniqueConstraint("plan_id", "name"),
        CheckConstraint(_one_of("kind", CHARACTERISTIC_KINDS), name="kind"),
        CheckConstraint(_one_of("defect_class", DEFECT_CLASSES), name="defect_class"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id", ondelete="RESTRICT"), nullable=False,
                                         index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="measured")
    unit: Mapped[str | None] = mapped_column(String(16))
    nominal: Mapped[Decimal | None] = mapped_column(Exact(MEASURE))
    lower_limit: Mapped[Decimal | None] = mapped_column(Exact(MEASURE))
    upper_limit: Mapped[Decimal | None] = mapped_column(Exact(MEASURE))
    defect_class: Mapped[str] = mapped_column(String(8), nullable=False, default="major")


class SwitchingState(Record, Base):
    """Where a plan stands for one supplier's lots under ISO 2859-1's switching rules."""

    __tablename__ = "switching_states"
    __table_args__ = (
        UniqueConstraint("plan_id", "supplier_key"),
        CheckConstraint(_one_of("severity", SEVERITIES), name="severity"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id", ondelete="RESTRICT"), nullable=False)
    supplier_key: Mapped[int] = mapped_column(nullable=False, default=0)
    severity: Mapped[str] = mapped_column(String(12), nullable=False, default="normal")
    recent: Mapped[str] = mapped_column(String(16), nullable=False, default="")   # A accepted, R not, oldest first
    score: Mapped[int] = mapped_column(nullable=False, default=0)
    not_accepted_on_tightened: Mapped[int] = mapped_column(nullable=False, default=0)


class Inspection(Record, Base):
    """One inspection of a lot: the sampling it was done by and the decision it gave."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_lot_id", "lot_id"),)

    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), nullable=False)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id", ondelete="RESTRICT"), nullable=False,
                                         index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    inspected_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    inspector: Mapped[str] = mapped_column(String(64), nullable=False)
    original: Mapped[bool] = mapped_column(nullable=False, default=True)   # False: after rework
    lot_size: Mapped[Decimal] = mapped_column(Exact(4), nullable=False)
    severity: Mapped[str] = mapped_column(String(12), nullable=False)
    code_letter: Mapped[str | None] = mapped_column(String(1))
    sample_size: Mapped[int] = mapped_column(nullable=False)
    accept_number: Mapped[int] = mapped_column(nullable=False)
    reject_number: Mapped[int] = mapped_column(nullable=False)
    nonconforming: Mapped[int] = mapped_column(nullable=False)   # sample units with a major or minor defect
    critical: Mapped[int] = mapped_column(nullable=False)        # sample units with a critical defect
    accepted: Mapped[bool] = mapped_column(nullable=False)


class Measurement(Record, Base):
    """One characteristic of one sample unit as found, and whether it conforms: the evidence
    of a decision, audited like every record and never changed once the inspection is made."""

    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("inspection_id", "sample_number", "characteristic_id"),)

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="RESTRICT"), nullable=False)
    sample_number: Mapped[int] = mapped_column(nullable=False)
    characteristic_id: Mapped[int] = mapped_column(ForeignKey("plan_characteristics.id", ondelete="RESTRICT"),
                                                   nullable=False, index=True)
    value: Mapped[Decimal | None] = mapped_column(Exact(MEASURE))   # measured
    passed: Mapped[bool | None] = mapped_column()                   # attribute
    conforms: Mapped[bool] = mapped_column(nullable=False)


class Disposition(Record, Base):
    """What the quality role decided for a lot held back: released, reworked, scrapped or
    returned to its supplier, why, and the stock movement it posted."""

    __tablename__ = "dispositions"
    __table_args__ = (CheckConstraint(_one_of("decision", DECISIONS), name="decision"),)

    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), nullable=False, index=True)
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    decision: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status_before: Mapped[str] = mapped_column(String(24), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Exact(4), nullable=False, default=Decimal(0))


class Nonconformance(Record, Base):
    """A nonconformance report (NCR): what went wrong, how it was contained, why it happened,
    and who verified that the actions worked."""

    __tablename__ = "nonconformances"
    __table_args__ = (
        CheckConstraint(_one_of("severity", NCR_SEVERITIES), name="severity"),
        CheckConstraint(_one_of("status", NCR_STATES), name="status"),
        CheckConstraint(f"root_cause_method IS NULL OR {_one_of('root_cause_method', ROOT_CAUSE_METHODS)}",
                        name="root_cause_method"),
        CheckConstraint(f"cause_category IS NULL OR {_one_of('cause_category', FISHBONE_CATEGORIES)}",
                        name="cause_category"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(8), nullable=False, default="major")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    owner: Mapped[str] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"), nullable=False)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"), index=True)
    containment: Mapped[str | None] = mapped_column(Text)
    root_cause_method: Mapped[str | None] = mapped_column(String(8))
    cause_category: Mapped[str | None] = mapped_column(String(12))
    root_cause: Mapped[str | None] = mapped_column(Text)
    verifier: Mapped[str | None] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"))
    closed_on: Mapped[date | None] = mapped_column(Date)


class Action(Record, Base):
    """A corrective or preventive action of a nonconformance, with its owner and due date."""

    __tablename__ = "ncr_actions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ACTION_KINDS), name="kind"),
        CheckConstraint(_one_of("status", ACTION_STATES), name="status"),
    )

    ncr_id: Mapped[int] = mapped_column(ForeignKey("nonconformances.id", ondelete="RESTRICT"), nullable=False,
                                        index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="corrective")
    description: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(ForeignKey("users.login", ondelete="RESTRICT"), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    done_on: Mapped[date | None] = mapped_column(Date)
