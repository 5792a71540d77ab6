"""Export the books as a beancount file.

Beancount is an independent, widely used double-entry engine: loading our export with its
checker, and comparing its balances with our trial balance, verifies the ledger with code we
did not write. The file also lets an accountant explore the books with beancount's tools.

The output is deterministic (accounts by code, entries by date then number, no timestamps)
so two exports of the same books are identical and can be diffed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.ledger.models import Account, FiscalPeriod, JournalEntry, JournalLine
from engine.security.roles import Actor

ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
         "expense": "Expenses"}
CENTS = Decimal("0.01")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9]+")


def _component(text: str) -> str:
    """Letters, digits and single dashes only (accents folded to ASCII), the characters a
    beancount account component may hold whatever the name of the account."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALLOWED.sub("-", ascii_text).strip("-")


def account_names(accounts: list[Account]) -> dict[str, str]:
    """Account code -> beancount account name, e.g. "1100" -> "Assets:A1100-Bank".

    The component starts with the root's initial so it always begins with a capital letter
    whatever the code looks like; the code keeps names unique, and should sanitising still
    make two alike (codes "11.0" and "11-0"), a counter is added to the later one.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for account in sorted(accounts, key=lambda a: a.code):
        root = ROOTS[account.type]
        base = f"{root}:{root[0]}{_component(account.code)}"
        if name := _component(account.name):
            base += f"-{name}"
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.lower())
        names[account.code] = candidate
    return names


def _number(amount: Decimal) -> str:
    """An amount written plainly: to the cent when that is exact, else every place kept."""
    cents = amount.quantize(CENTS)
    return f"{cents if cents == amount else amount.normalize():f}"


def _string(text: str) -> str:
    """A beancount string literal: backslashes and quotes escaped, line breaks flattened."""
    flat = " ".join(text.splitlines())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _opening_date(session: Session) -> date:
    """The day every account is opened: the start of the first period (or the first entry),
    so no posting predates its account's `open` directive."""
    known = [d for d in (session.scalar(select(func.min(FiscalPeriod.starts_on))),
                         session.scalar(select(func.min(JournalEntry.entry_date)))) if d is not None]
    return min(known, default=date(1970, 1, 1))


def export_beancount(session: Session, actor: Actor, path: Path, currency: str) -> int:
    """Write the whole ledger to `path` as a beancount file, for a user who may read the
    ledger; returns how many entries were written. Every account is opened (headings too,
    for a complete chart), restricted to `currency`, the base currency all amounts are in;
    debits are positive, credits negative."""
    actor.require("read", "ledger")
    accounts = list(session.scalars(select(Account).order_by(Account.code)))
    names = account_names(accounts)
    by_id = {a.id: names[a.code] for a in accounts}
    opened = _opening_date(session)
    entries = list(session.scalars(select(JournalEntry).order_by(JournalEntry.entry_date, JournalEntry.number)))
    lines: dict[int, list[JournalLine]] = defaultdict(list)
    for line in session.scalars(select(JournalLine).order_by(JournalLine.entry_id, JournalLine.line_number)):
        lines[line.entry_id].append(line)
    out = [f"option \"operating_currency\" {_string(currency)}", ""]
    out += [f"{opened.isoformat()} open {by_id[a.id]} {currency}" for a in accounts]
    for entry in entries:
        out += ["", f"{entry.entry_date.isoformat()} * {_string(entry.memo or '')}",
                f"  number: {_string(entry.number)}", f"  source: {_string(entry.source)}"]
        for line in lines[entry.id]:
            amount = line.debit - line.credit
            out.append(f"  {by_id[line.account_id]}  {_number(amount)} {currency}")
            if line.description:
                out.append(f"    description: {_string(line.description)}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(entries)
