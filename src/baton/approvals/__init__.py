"""Human tasks: who may decide, the inbox, approve / edit / reject, four eyes, SLA escalation and expiry."""

from baton.approvals.directory import Directory
from baton.approvals.service import Approvals, Decided, TickReport, json_diff, shown_hash

__all__ = ["Approvals", "Decided", "Directory", "TickReport", "json_diff", "shown_hash"]
