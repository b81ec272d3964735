"""How cases read: category and status names, one-line summaries, the history; and the
"case:view" button both sides of the cases send."""

from __future__ import annotations

from collections.abc import Sequence

from intents.i18n import N_, Texts
from intents.payloads import Payload
from storage.models import Case, CaseEvent, Comuna

CATEGORIES: dict[str, str] = {
    "regularizacion": N_("Regularización"),
    "salud": N_("Salud"),
    "educacion": N_("Educación"),
    "trabajo": N_("Trabajo"),
    "vivienda": N_("Vivienda"),
    "proteccion": N_("Protección / violencia"),
    "otro": N_("Otro"),
}
STATUSES: dict[str, str] = {
    "abierto": N_("abierto"),
    "en_revision": N_("en revisión"),
    "respondido": N_("respondido"),
    "derivado": N_("derivado"),
    "cerrado": N_("cerrado"),
}
URGENCIES: dict[str, str] = {"normal": N_("normal"), "urgente": N_("urgente")}
ROLE_NAMES: dict[str, str] = {
    "municipal": N_("municipalidad"),
    "officer": N_("SERMIG"),
    "admin": N_("SERMIG"),
    "system": N_("sistema"),
    "migrant": N_("usuario"),
}


class CaseView(Payload, prefix="case:view"):
    """A case's history ("case:view:12"). Handled by the municipal side
    (intents/flows/cases.py, which shows officers their own view), but declared here: the
    officer side sends it to contacts, and the municipal side imports the officer side (its
    buttons to officers), so the officer side cannot import it from there without a cycle."""

    case_id: int


def summary(t: Texts, case: Case, comuna: Comuna | None = None) -> str:
    flag = "🔴 " if case.urgency == "urgente" else ""
    where = f" · {comuna.name}" if comuna else ""
    return f"{flag}{case.number} · {t._(CATEGORIES[case.category])} · {t._(STATUSES[case.status])}{where}"


def history(t: Texts, case: Case, events: Sequence[CaseEvent], comuna: Comuna | None) -> str:
    lines = [
        summary(t, case, comuna),
        t._("Urgencia: {urgency}").format(urgency=t._(URGENCIES[case.urgency])),
    ]
    if case.referred_to:
        lines.append(t._("Derivado a: {institution}").format(institution=case.referred_to))
    lines.append("")
    for event in events:
        who = t._(ROLE_NAMES.get(event.actor_role, event.actor_role))
        when = t.datetime(event.at)
        if event.kind == "opened":
            lines.append(t._("{when} · {who}: abrió el caso").format(when=when, who=who))
            lines.append(f"   {event.body}")
        elif event.kind == "message":
            lines.append(f"{when} · {who}: {event.body}")
        elif event.kind == "referred":
            lines.append(
                t._("{when} · {who}: derivó el caso a {institution}").format(
                    when=when, who=who, institution=event.body
                )
            )
        else:
            lines.append(
                t._("{when} · {who}: estado → {status}").format(
                    when=when, who=who, status=t._(STATUSES.get(event.status_to or "", "?"))
                )
            )
    text = "\n".join(lines)
    if len(text) > 3800:  # stay under Telegram's 4096 characters: keep the newest events
        text = text[:600] + "\n…\n" + text[-3100:]
    return text
