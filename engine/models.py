"""Imports every module's tables so `Base.metadata` is complete (migrations, tests)."""

from engine.admin.models import Asset, AssetAssignment, DepreciationPosting, Task
from engine.contacts.models import Address, Contact, ContactEmail, ContactPhone
from engine.crm.models import Interaction, Opportunity
from engine.db.audit import AuditEntry
from engine.db.base import Base
from engine.db.idempotency import KeptReply
from engine.db.installation import Installation
from engine.inventory.models import (
    CostLayer,
    Item,
    ItemCost,
    Location,
    Lot,
    StockBalance,
    StockCount,
    StockMovement,
)
from engine.ledger.models import (
    Account,
    Allocation,
    FiscalPeriod,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    LedgerCounter,
    Payment,
)
from engine.mailmerge.models import MailMessage, MailRun
from engine.quality.models import (
    Action,
    Characteristic,
    Disposition,
    Inspection,
    InspectionPlan,
    Measurement,
    Nonconformance,
    SwitchingState,
)
from engine.security.models import ApiToken, User
from engine.sheets.receipts import WorkbookReceipt
from engine.staff.models import Contract, Department, Employee, LeaveRequest, LeaveType, StaffCost

__all__ = ["ApiToken", "KeptReply", "Account", "Address", "Allocation", "Invoice", "InvoiceLine", "Payment", "AuditEntry", "Base", "Contact", "CostLayer", "FiscalPeriod", "Installation",
           "Item", "ItemCost", "JournalEntry", "JournalLine", "LedgerCounter", "Location", "Lot", "StockBalance",
           "StockCount", "StockMovement", "User", "Contract", "Department", "Employee", "LeaveRequest", "LeaveType",
           "StaffCost", "MailRun", "MailMessage", "WorkbookReceipt",
           "Action", "Characteristic", "Disposition", "Inspection", "InspectionPlan", "Measurement",
           "Nonconformance", "SwitchingState", "ContactEmail", "ContactPhone", "Interaction", "Opportunity",
           "Asset", "AssetAssignment", "DepreciationPosting", "Task"]
