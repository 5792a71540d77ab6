"""The same merge twice in a day: a second merge of a template to the same selection with the
same options would write to everyone again, so it is refused, naming the earlier run (when,
by whom, how many sent), unless asked for again (`--again`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from engine.errors import BackofficeError
from engine.mailmerge.models import MailMessage, MailRun


class RepeatedMerge(BackofficeError):
    """The same template was merged to the same selection, with the same options, earlier
    today: merging again would write to everyone a second time (refused unless `again`)."""

    code = "repeated_merge"
    field = "again"


def plain_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON keeps them (a path as text, a date as ISO)."""
    return {k: (str(v) if not isinstance(v, int | float | str | bool | type(None)) else v) for k, v in options.items()}


def earlier_today(session, template: str, selection: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs of the same template to the same selection with the same options started since
    midnight (this machine's day): when, by whom, how many messages sent and letters printed."""
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    runs = [r for r in session.scalars(select(MailRun).where(
        MailRun.template == template, MailRun.selection == selection, MailRun.created_at >= midnight.astimezone(UTC))
        .order_by(MailRun.id)) if r.options == plain_options(options)]
    counts: dict[int, dict[str, int]] = {}
    if runs:
        for run_id, state, n in session.execute(
                select(MailMessage.run_id, MailMessage.state, func.count())
                .where(MailMessage.run_id.in_([r.id for r in runs])).group_by(MailMessage.run_id, MailMessage.state)):
            counts.setdefault(run_id, {})[state] = n
    return [{"run_id": r.id, "started_at": r.created_at.isoformat(timespec="seconds"), "started_by": r.started_by,
             "transport": r.transport, "status": r.status, "sent": counts.get(r.id, {}).get("sent", 0),
             "printed": counts.get(r.id, {}).get("printed", 0)} for r in runs]


def repeated_message(template: str, selection: str, options: dict[str, Any], earlier: list[dict[str, Any]]) -> str:
    said = "; ".join(f"run {e['run_id']} at {e['started_at'].replace('T', ' ')} by {e['started_by']} via "
                     f"{e['transport']}: {e['sent']} sent, {e['printed']} letters printed, {e['status']}"
                     for e in earlier)
    given = ", ".join(f"{k} {v}" for k, v in options.items())
    running = [str(e["run_id"]) for e in earlier if e["status"] == "running"]
    carry_on = f"carry on with `backoffice mail resume {running[-1]}`, or " if running else ""
    return (f"{template} was already merged to {selection}{f' ({given})' if given else ''} today ({said}); "
            f"merging again would write to everyone a second time, so nothing was sent: "
            f"{carry_on}add --again to send it anew")
