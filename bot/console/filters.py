"""The case inbox's filters as they travel in the page's address (`?estado=…&pagina=2`):
read leniently from the query string, written back into links, and handed to storage as
plain values (`storage.casework.CaseFilter`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from intents.cases_text import STATUSES, URGENCIES
from storage.casework import CaseFilter

AGES = {"1": 1, "7": 7, "30": 30}  # "open for more than N days"
NOT_CLOSED = "sin_cerrar"  # the status filter "every status but closed"


@dataclass(frozen=True)
class Filters:
    status: str = ""
    comuna: str = ""
    urgency: str = ""
    age: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Filters:
        """Unknown values are ignored rather than rejected: a filter is a convenience."""
        status = query.get("estado", "")
        urgency = query.get("urgencia", "")
        age = query.get("antiguedad", "")
        comuna = query.get("comuna", "")
        page = query.get("pagina", "1")
        return cls(
            status=status if status in STATUSES or status == NOT_CLOSED else "",
            comuna=comuna if comuna.isdigit() and len(comuna) == 5 else "",
            urgency=urgency if urgency in URGENCIES else "",
            age=age if age in AGES else "",
            q=query.get("q", "").strip()[:100],
            page=int(page) if page.isdigit() and 0 < len(page) < 6 else 1,
        )

    def cases(self, now: datetime) -> CaseFilter:
        """What storage filters by, the age made a time."""
        return CaseFilter(
            status="" if self.status == NOT_CLOSED else self.status,
            open_only=self.status == NOT_CLOSED,
            comuna=self.comuna,
            urgency=self.urgency,
            opened_before=now - timedelta(days=AGES[self.age]) if self.age else None,
            text=self.q,
        )

    def params(self, **change: Any) -> dict[str, str]:
        values = {
            "estado": self.status,
            "comuna": self.comuna,
            "urgencia": self.urgency,
            "antiguedad": self.age,
            "q": self.q,
            "pagina": str(self.page),
        }
        values.update({k: str(v) for k, v in change.items()})
        return {k: v for k, v in values.items() if v and not (k == "pagina" and v == "1")}
