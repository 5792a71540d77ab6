"""Sample staff for the demo: about 60 employees in 6 departments and a year of leave, so the
Team workbook, the leave balances and the headcount and cost figures have something real to
show.

A managing director heads the company; each department has a manager who reports to them, and
the larger departments have team leads, so a department manager's team holds indirect
reports too. The demo users are employees (linked by `Employee.login`): the `manager` user
runs Operations, whose production and maintenance teams have their own leads, and the `hr`
user is an HR officer. The director, the department managers and the team leads have logins
too, without users: they decide their reports' leave through the services as themselves (an
administrator who adds a user with that login gives them their team).

Everyone is hired through `services.hire` and gets a contract through `add_contract` (as the
HR user); leave is recorded by HR through `request_leave` (HR alone may record a medical
reason) and decided through `decide_leave` by the employee's own manager (HR for the
director), so every rule the services guard holds: no two requests of one person overlap, and
annual leave stays within its balance. The year ends on the same fixed day as the stock and the
books; requests still waiting for a decision are for the weeks after it. Two leavers left
long ago (one of them more than the six-year retention period before that day, so they may be
purged) and one this summer.

Three writes have no service yet and are made as HR would make them in the record: the leave
types, each department's manager (hired into the department after it is made) and the
leavers' last days.

Everything is planned first, without the database, from draws seeded with `engine.demo.SEED`,
so every run builds the same staff. Names are Faker's; dates of birth, national ids and bank
accounts are made up and look it (an IBAN's check digits are never 00). Salaries are whole
euros, as Decimals.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.demo import DEMO_USERS, SEED, DemoSummary
from engine.security.models import User
from engine.security.roles import Actor, load_roles
from engine.security.users import resolve_actor
from engine.staff.leave import working_days
from engine.staff.models import Department, LeaveRequest, LeaveType
from engine.staff.services import (
    Hire,
    add_contract,
    add_department,
    decide_leave,
    hire,
    record_last_day,
    request_leave,
)

END = date(2026, 11, 27)            # the demo's "today" (the same day as the stock's and the books')
START = END - timedelta(days=364)   # a year of leave, END included
YEAR_END = date(END.year, 12, 31)   # requests still waiting are for the weeks after END, in the same year
DOMAIN = "backoffice.example"
CURRENCY = "EUR"
ANNUAL_DAYS = 25

# code: (name, yearly allowance, held to a balance, days that carry over)
LEAVE_TYPES = {
    "annual": ("Annual leave", ANNUAL_DAYS, True, 5),
    "sick": ("Sick leave", 0, False, 0),
    "unpaid": ("Unpaid leave", 0, False, 0),
    "parental": ("Parental leave", 0, False, 0),
}

# code: (name, manager's title, teams: (team lead's title or None for the manager's direct
# reports, the members' titles)). The managing director works in Finance.
DEPARTMENTS = {
    "SAL": ("Sales", "Head of Sales", [
        ("Team lead, field sales", ["Account manager"] * 4),
        ("Team lead, inside sales", ["Inside sales representative"] * 3),
        (None, ["Key account manager", "Sales assistant"])]),
    "OPS": ("Operations", "Operations manager", [
        ("Production team lead", ["Assembly technician"] + ["Machine operator"] * 4),
        ("Maintenance team lead", ["Maintenance technician"] * 2 + ["Electrician"]),
        (None, ["Production planner"])]),
    "WHS": ("Warehouse", "Warehouse manager", [
        ("Shift lead, early shift", ["Warehouse operative"] * 4),
        ("Shift lead, late shift", ["Warehouse operative"] * 3 + ["Forklift driver"]),
        (None, ["Stock controller", "Shipping coordinator"])]),
    "FIN": ("Finance", "Head of Finance", [
        (None, ["Accountant"] * 2 + ["Controller", "Accounts payable clerk", "Accounts receivable clerk",
                                      "Payroll accountant"])]),
    "HR": ("HR", "Head of HR", [
        (None, ["HR officer"] * 2 + ["Recruiter", "HR assistant"])]),
    "QUA": ("Quality", "Quality manager", [
        ("Quality lab team lead", ["Quality inspector"] * 3 + ["Lab technician"]),
        (None, ["Quality engineer"])]),
}
DIRECTOR = ("FIN", "Managing director")
# The demo user with this role takes the first post with this title in this department.
USER_POSTS = {"manager": ("OPS", "Operations manager"), "hr": ("HR", "HR officer"),
              "accountant": ("FIN", "Accountant"), "warehouse": ("WHS", "Stock controller"),
              "sales": ("SAL", "Account manager"), "quality": ("QUA", "Quality engineer"),
              "staff": ("OPS", "Assembly technician")}
# Leavers: (department, title, started, left, contract kind).
LEAVERS = [("WHS", "Warehouse operative", date(2011, 4, 1), date(2019, 6, 30), "permanent"),   # purgeable
           ("QUA", "Quality inspector", date(2021, 3, 1), date(2023, 2, 28), "fixed-term"),
           ("SAL", "Account manager", date(2020, 9, 1), date(2026, 8, 31), "permanent")]
# Yearly full-time pay in whole euros, (low, high), by grade; OPERATIVE titles are paid less.
PAY = {"director": (140_000, 165_000), "manager": (76_000, 96_000), "lead": (54_000, 66_000),
       "staff": (40_000, 58_000), "operative": (31_000, 38_000)}
OPERATIVE = {"Warehouse operative", "Forklift driver", "Machine operator", "Sales assistant", "HR assistant",
             "Lab technician", "Accounts payable clerk", "Accounts receivable clerk", "Assembly technician"}
# Most staff live in Germany; some across the border. country: (Faker locale, weight)
COUNTRIES = {"DE": ("de_DE", 40), "NL": ("nl_NL", 3), "PL": ("pl_PL", 3), "FR": ("fr_FR", 2),
             "IT": ("it_IT", 1), "ES": ("es_ES", 1)}
MEDICAL = ["flu", "migraine", "common cold", "gastroenteritis", "back pain", "dental surgery", "sprained ankle",
           "sinusitis", "tonsillitis"]
LONG_ILLNESS = ["knee surgery recovery", "broken wrist", "slipped disc"]
UNPAID = ["moving house", "family matters abroad", "extended travel", "caring for a relative"]
HOLIDAY = [None, None, "summer holiday", "family visit", "holiday"]
ASCII = str.maketrans({"ß": "ss", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d"})


@dataclass
class ContractPlan:
    kind: str
    weekly_hours: Decimal
    salary: Decimal
    starts_on: date
    ends_on: date | None = None


@dataclass
class Person:
    """An employee to hire; `boss` is the index of their manager in the plan (None: the
    director, who reports to nobody)."""

    first_name: str
    last_name: str
    country: str
    department: str
    title: str
    grade: str
    boss: int | None
    start: date
    end: date | None = None
    user_role: str | None = None    # a demo user's role: that user is this employee
    login: str | None = None
    work_email: str | None = None
    number: str = ""
    date_of_birth: date | None = None
    national_id: str | None = None
    bank_account: str | None = None
    contracts: list[ContractPlan] = field(default_factory=list)


@dataclass(frozen=True)
class LeavePlan:
    person: int
    kind: str
    starts_on: date
    ends_on: date
    outcome: str                    # approved, rejected, or requested (still waiting)
    half_day_start: bool = False
    half_day_end: bool = False
    reason: str | None = None
    medical_reason: str | None = None


@dataclass
class StaffPlan:
    people: list[Person] = field(default_factory=list)
    leave: list[LeavePlan] = field(default_factory=list)
    heads: dict[str, int] = field(default_factory=dict)   # department -> index of its manager


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(ASCII)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _first_of_month(rng: random.Random, first_year: int, last: date) -> date:
    """The first of a month between January of `first_year` and `last`."""
    months = (last.year - first_year) * 12 + last.month
    n = rng.randrange(months)
    return date(first_year + n // 12, n % 12 + 1, 1)


def _joined(rng: random.Random) -> date:
    """When one of the staff joined: a few this year, most in the last few years, some long ago."""
    if rng.random() < 0.08:
        return _first_of_month(rng, 2026, date(2026, 9, 1))
    year = END.year - 1 - min(int(rng.expovariate(1 / 4)), 12)
    return date(year, rng.randint(1, 12), 1)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:   # 29 February
        return day.replace(year=day.year + years, day=28)


# -- the people ---------------------------------------------------------------------------------

def plan_people(rng: random.Random, fakers: dict[str, Faker], demo_users: list[tuple[str, str, list[str]]]) -> StaffPlan:
    """Who works where, under whom, since when, on what terms (pure: the demo users are passed in)."""
    plan = StaffPlan()
    countries, weights = list(COUNTRIES), [w for _, w in COUNTRIES.values()]
    users = {roles[0]: (login, name) for login, name, roles in reversed(demo_users) if roles}
    unclaimed = {post: role for role, post in USER_POSTS.items() if role in users}

    def add(department: str, title: str, grade: str, boss: int | None, start: date) -> int:
        role = unclaimed.pop((department, title), None)
        if role is not None:
            login, name = users[role]
            first, _, last = name.partition(" ")
            person = Person(first, last or first, "DE", department, title, grade, boss, start, user_role=role,
                            login=login, work_email=f"{login}@{DOMAIN}")
        else:
            country = rng.choices(countries, weights)[0]
            fake = fakers[country]
            person = Person(fake.first_name(), fake.last_name(), country, department, title, grade, boss, start)
        plan.people.append(person)
        return len(plan.people) - 1

    director = add(*DIRECTOR, "director", None, _first_of_month(rng, 2009, date(2010, 12, 1)))
    for code, (_, manager_title, teams) in DEPARTMENTS.items():
        head = add(code, manager_title, "manager", director, _first_of_month(rng, 2010, date(2019, 12, 1)))
        plan.heads[code] = head
        for lead_title, members in teams:
            boss = head if lead_title is None else \
                add(code, lead_title, "lead", head, _first_of_month(rng, 2012, date(2022, 12, 1)))
            for title in members:
                add(code, title, "operative" if title in OPERATIVE else "staff", boss, _joined(rng))
    for code, title, started, left, kind in LEAVERS:
        lead = next((lead for lead, members in DEPARTMENTS[code][2] if lead and title in members), None)
        boss = plan.heads[code] if lead is None else \
            next(n for n, p in enumerate(plan.people) if (p.department, p.title) == (code, lead))
        n = add(code, title, "operative" if title in OPERATIVE else "staff", boss, started)
        plan.people[n].end = left
        plan.people[n].contracts.append(ContractPlan(kind, Decimal(40), _salary(rng, plan.people[n], 40),
                                                     started, left))

    taken: set[str] = {login for login, _, _ in demo_users}
    for n, person in enumerate(sorted(plan.people, key=lambda p: p.start), start=1):
        person.number = f"E{n:04d}"
    operatives = [n for n, p in enumerate(plan.people) if p.grade == "operative" and p.end is None and not p.user_role]
    casual = set(rng.sample(operatives, 3))   # a few work a day or two a week, as needed
    for n, person in enumerate(plan.people):
        _details(rng, person, taken, n in casual)
    return plan


def _details(rng: random.Random, person: Person, taken: set[str], casual: bool) -> None:
    """Logins (managers and team leads), work e-mail, the made-up sensitive fields, the contracts."""
    slug = f"{_slug(person.first_name)}.{_slug(person.last_name)}"
    if person.login is None:
        login, n = slug, 1
        while login in taken:
            n += 1
            login = f"{slug}{n}"
        taken.add(login)
        person.work_email = f"{login}@{DOMAIN}"
        if person.grade in ("director", "manager", "lead") and person.end is None:
            person.login = login
    age = rng.randint(24, 44) if person.grade in ("director", "manager") else rng.randint(19, 38)
    born = person.start.year - age
    born = max(born, END.year - 63)
    person.date_of_birth = date(born, rng.randint(1, 12), rng.randint(1, 28))
    person.national_id = f"DEMO-{rng.randint(10**8, 10**9 - 1)}"
    person.bank_account = f"{person.country}00{rng.randint(0, 10**18 - 1):018d}"   # check digits 00: never valid
    if person.contracts:   # the leavers' contracts are planned with them
        return
    if person.grade in ("director", "manager", "lead"):
        person.contracts.append(ContractPlan("permanent", Decimal(40), _salary(rng, person, 40), person.start))
        return
    if casual:
        hours = rng.choice([8, 12, 16])
        person.contracts.append(ContractPlan("casual", Decimal(hours), _salary(rng, person, hours), person.start))
        return
    hours = rng.choice([40] * 6 + [32, 30, 24, 20])
    salary = _salary(rng, person, hours)
    if rng.random() < 0.2:   # two years fixed-term first; kept on permanently, with a rise, once that is over
        ends = _add_years(person.start, 2) - timedelta(days=1)
        if ends < END:
            person.contracts.append(ContractPlan("permanent", Decimal(hours), salary, ends + timedelta(days=1)))
            salary -= rng.randrange(1000, 4001, 500) * hours // 40
        person.contracts.insert(0, ContractPlan("fixed-term", Decimal(hours), salary, person.start, ends))
        return
    person.contracts.append(ContractPlan("permanent", Decimal(hours), salary, person.start))


def _salary(rng: random.Random, person: Person, hours: int) -> Decimal:
    """A year's gross pay in whole euros: the grade's full-time pay in steps of 500, for the hours."""
    low, high = PAY[person.grade]
    return Decimal(rng.randrange(low, high + 1, 500) * hours // 40)


# -- the year's leave --------------------------------------------------------------------------

class _Diary:
    """One employee's year of leave as it is planned: the days already taken (no two requests
    share a day) and the annual leave asked for per year (never beyond the allowance)."""

    def __init__(self, rng: random.Random, plan: StaffPlan, person: int):
        self.rng, self.plan, self.person = rng, plan, person
        who = plan.people[person]
        self.first, self.last = max(START, who.start), min(who.end or YEAR_END, YEAR_END)
        self.booked: set[date] = set()
        self.annual: dict[int, Decimal] = defaultdict(Decimal)

    def free(self, starts_on: date, ends_on: date) -> bool:
        if starts_on < self.first or ends_on > self.last or starts_on.year != ends_on.year:
            return False
        return all(starts_on + timedelta(n) not in self.booked for n in range((ends_on - starts_on).days + 1))

    def add(self, kind: str, starts_on: date, ends_on: date, outcome: str = "approved", **more) -> bool:
        """Plan the request if it fits: decided ones end by END, waiting ones start after it."""
        decided = outcome != "requested"
        if not self.free(starts_on, ends_on) or (ends_on > END if decided else starts_on <= END):
            return False
        days = working_days(starts_on, ends_on, more.get("half_day_start", False), more.get("half_day_end", False))
        if days <= 0 or (kind == "annual" and self.annual[starts_on.year] + days > ANNUAL_DAYS):
            return False
        if kind == "annual":
            self.annual[starts_on.year] += days
        self.booked |= {starts_on + timedelta(n) for n in range((ends_on - starts_on).days + 1)}
        self.plan.leave.append(LeavePlan(self.person, kind, starts_on, ends_on, outcome, **more))
        return True

    def tries(self, kind: str, first: date, last: date, days: int, times: int = 8, monday: bool = False,
              **more) -> bool:
        """`days` working days from a day between `first` and `last` (a Monday if `monday`),
        trying other days if the first draw does not fit."""
        for _ in range(times):
            day = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
            starts_on = day - timedelta(days=day.weekday() if monday else max(0, day.weekday() - 4))
            if self.add(kind, starts_on, _run_of(starts_on, days), **more):
                return True
        return False


def _run_of(starts_on: date, workdays: int) -> date:
    """The last day of `workdays` working days from `starts_on` (a weekday)."""
    day, counted = starts_on, 1
    while counted < workdays:
        day += timedelta(days=1)
        counted += day.weekday() < 5
    return day


def plan_leave(rng: random.Random, plan: StaffPlan) -> None:
    """A year of leave for everyone employed in it, up to END; the requests still waiting are
    for the weeks after END."""
    employed = [n for n, p in enumerate(plan.people) if p.start <= END and (p.end is None or p.end >= START)]
    staff = [n for n in employed if plan.people[n].grade in ("staff", "operative") and plan.people[n].end is None
             and plan.people[n].start <= date(2025, 12, 1)]
    parental, unpaid, long_ill = rng.sample(staff, 2), rng.sample(staff, 3), rng.sample(staff, 2)
    for n in employed:
        diary = _Diary(rng, plan, n)
        if n in parental:
            diary.tries("parental", date(2026, 2, 2), date(2026, 7, 27), rng.randint(30, 45), monday=True,
                        reason="parental leave after the birth of a child")
        if n in long_ill:
            diary.tries("sick", START, date(2026, 10, 19), rng.randint(10, 15), monday=True,
                        medical_reason=rng.choice(LONG_ILLNESS))
        if n in unpaid:
            diary.tries("unpaid", date(2026, 1, 5), date(2026, 11, 9), rng.randint(3, 10), reason=rng.choice(UNPAID))
        _annual_leave(rng, diary)
        for _ in range(rng.choices([0, 1, 2, 3], [35, 35, 20, 10])[0]):
            medical = rng.choice(MEDICAL) if rng.random() < 0.5 else None
            diary.tries("sick", START, END, rng.choice([1, 1, 2, 2, 3, 5]), times=4, medical_reason=medical)


def _annual_leave(rng: random.Random, diary: _Diary) -> None:
    if rng.random() < 0.5:   # the Christmas week of the year before
        first = rng.choice([date(2025, 12, 22), date(2025, 12, 29)])
        diary.add("annual", first, first + timedelta(days=2), reason="Christmas")
    if rng.random() < 0.85:  # the summer; now and then a manager says no, and other weeks are asked for
        length = rng.choice([5, 10, 10, 15])
        if rng.random() < 0.12:
            diary.tries("annual", date(2026, 6, 1), date(2026, 9, 7), length, monday=True, outcome="rejected",
                        reason="summer holiday")
        diary.tries("annual", date(2026, 6, 1), date(2026, 9, 7), length, monday=True, reason=rng.choice(HOLIDAY))
    if rng.random() < 0.5:
        diary.tries("annual", date(2026, 3, 16), date(2026, 5, 29), rng.randint(2, 5), reason=rng.choice(HOLIDAY))
    if rng.random() < 0.45:
        diary.tries("annual", date(2026, 10, 1), date(2026, 11, 16), rng.randint(2, 5), reason=rng.choice(HOLIDAY))
    for _ in range(rng.randint(0, 3)):   # single days, some of them half days
        outcome = "rejected" if rng.random() < 0.08 else "approved"
        diary.tries("annual", date(2026, 1, 5), END, 1, times=3, outcome=outcome, half_day_end=rng.random() < 0.35)
    if rng.random() < 0.3:   # Christmas this year: asked for, mostly not decided yet
        first = rng.choice([date(2026, 12, 21), date(2026, 12, 28)])
        diary.add("annual", first, first + timedelta(days=3), "requested" if rng.random() < 0.6 else "approved",
                  reason="Christmas")


# -- posting -------------------------------------------------------------------------------------

def _actor(session: Session, login: str, role: str) -> Actor:
    """The user's actor if they are a user, else an actor with `role` acting under `login`
    (a manager without a user of their own, deciding their reports' leave)."""
    if session.scalar(select(User.id).where(User.login == login, User.active)) is not None:
        return resolve_actor(session, login)
    return Actor(login, (load_roles()[role],))


def post_plan(session: Session, plan: StaffPlan, hr_login: str) -> dict[int, int]:
    """Hire everyone, give them their contracts, and ask for and decide the year's leave.
    Returns plan index -> employee id."""
    hr = _actor(session, hr_login, "hr")
    for code, (name, allowance, needs_balance, carry) in LEAVE_TYPES.items():
        session.add(LeaveType(code=code, name=name, yearly_allowance=Decimal(allowance), needs_balance=needs_balance,
                              carry_over_days=Decimal(carry), updated_by=hr.login))
    departments = {code: add_department(session, hr, code, name) for code, (name, _, _) in DEPARTMENTS.items()}

    ids: dict[int, int] = {}
    for n, p in enumerate(plan.people):   # everyone's manager comes before them in the plan
        employee = hire(session, hr, Hire(
            p.first_name, p.last_name, p.country, p.number, departments[p.department].id, p.start, p.title,
            manager_id=None if p.boss is None else ids[p.boss], work_email=p.work_email, login=p.login,
            date_of_birth=p.date_of_birth, national_id=p.national_id, bank_account=p.bank_account))
        ids[n] = employee.id
        if p.end is not None:
            record_last_day(session, hr, employee.id, p.end)
        for c in p.contracts:
            add_contract(session, hr, employee.id, c.kind, c.weekly_hours, c.salary, CURRENCY, c.starts_on, c.ends_on)
    for code, head in plan.heads.items():   # a department's manager is hired into it first
        departments[code].manager_id, departments[code].updated_by = ids[head], hr.login
    session.flush()

    actors: dict[int, Actor] = {}

    def manager_of(n: int) -> Actor:
        """The employee's own manager, who decides their leave (HR for the director)."""
        boss = plan.people[n].boss
        if boss is None:
            return hr
        if boss not in actors:
            login = plan.people[boss].login
            actors[boss] = _actor(session, login, "manager")
        return actors[boss]

    for item in sorted(plan.leave, key=lambda x: (x.starts_on, x.person)):
        # HR keeps the leave records (and only HR may record a medical reason); managers decide
        request = request_leave(session, hr, ids[item.person], item.kind, item.starts_on, item.ends_on,
                                item.half_day_start, item.half_day_end, item.reason, item.medical_reason)
        if item.outcome != "requested":
            decided = datetime.combine(item.starts_on - timedelta(days=7), time(9), tzinfo=UTC)  # a week ahead
            decide_leave(session, manager_of(item.person), request.id, approve=item.outcome == "approved",
                         at=decided)
    return ids


def seed_staff(session: Session, summary: DemoSummary) -> None:
    """Departments, employees with contracts, leave types and a year of leave."""
    # here, not at the top: engine.demo imports this module

    fakers = {}
    for n, (code, (locale, _)) in enumerate(COUNTRIES.items()):
        fakers[code] = Faker(locale)
        fakers[code].seed_instance(SEED + 100 + n)
    rng = random.Random(f"staff-{SEED}")
    plan = plan_people(rng, fakers, DEMO_USERS)
    plan_leave(rng, plan)
    hr_login = next((login for login, _, roles in DEMO_USERS if "hr" in roles), "hr")
    post_plan(session, plan, hr_login)
    summary.created["departments"] = session.scalar(select(func.count(Department.id)))
    summary.created["employees"] = len(plan.people)
    summary.created["leave requests"] = session.scalar(select(func.count(LeaveRequest.id)))
