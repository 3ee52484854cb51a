"""The common KPI parameters of kpis.md, validated into one value object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.principals import principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability
from accounts.scope import caller_scope
from api.boundary import date_problem

MAX_SPAN_DAYS = 731
MAX_FRESH_DAYS = 31
MAX_HOURLY_DAYS = 31
GRANULARITIES = ("hour", "day", "week", "month")
COMMON = {"start_date", "end_date", "facility", "group_by", "fresh", "format"}


@dataclass(frozen=True)
class KpiParams:
    start: date
    end: date
    facility_ids: tuple[int, ...]
    facility_codes: tuple[str, ...]
    group_by_facility: bool = False
    granularity: str = "day"
    fresh: bool = False
    suppress: bool = False
    extra: dict = field(default_factory=dict)
    #: The time zones of the facilities asked about (IANA names, sorted, each once).
    time_zones: tuple[str, ...] = ()

    @property
    def zone(self) -> str | None:
        """The one time zone of every facility asked about; None when they differ (or none)."""
        return self.time_zones[0] if len(self.time_zones) == 1 else None

    @property
    def period_time_zone(self) -> str:
        """``period.time_zone`` of an answer: the facility's zone for one facility, ``"facility"``
        (each facility's own local days) for several, the reporting zone for none."""
        if len(self.facility_ids) == 1 and self.zone:
            return self.zone
        return "facility" if self.facility_ids else settings.REPORTING_TIME_ZONE

    def cache_parts(self, kpi: str) -> dict:
        return {
            "kpi": kpi,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "facilities": list(self.facility_ids),
            "group_by": self.group_by_facility,
            "granularity": self.granularity,
            "zones": list(self.time_zones),
            "suppress": self.suppress,
            "threshold": settings.PRIVACY_MIN_CELL_SIZE,
            "noise": settings.PRIVACY_MAX_NOISE,
            "extra": self.extra,
        }


def reporting_today(zone: str | None = None) -> date:
    """Today in ``zone`` (a facility's), or in REPORTING_TIME_ZONE."""
    return datetime.now(ZoneInfo(zone or settings.REPORTING_TIME_ZONE)).date()


def _date(request: Request, name: str, default: date, errors: dict) -> date:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Use a date as YYYY-MM-DD."]
        return default
    if problem := date_problem(value):
        errors[name] = [problem]
        return default
    return value


def kpi_params_parse(request: Request, *, extra: dict | None = None, series: bool = False) -> KpiParams:
    """Validate the query string. ``extra`` maps further parameter names to validators
    (value -> clean value, raising ValueError with the message)."""
    extra = extra or {}
    errors: dict[str, list[str]] = {}
    allowed = COMMON | set(extra) | ({"granularity"} if series else set())
    for name in sorted(set(request.query_params) - allowed):
        errors[name] = [f"Unknown parameter. Allowed: {', '.join(sorted(allowed))}."]

    requested = [code.strip() for raw in request.query_params.getlist("facility") for code in raw.split(",")]
    requested = [code for code in requested if code]
    # The default period ends today at the facilities asked about when they share a zone.
    end = _date(request, "end_date", caller_today(request.user, requested), errors)
    start = _date(request, "start_date", end - timedelta(days=29), errors)
    if "start_date" not in errors and "end_date" not in errors:
        if end < start:
            errors["end_date"] = ["Must not be before start_date."]
        elif (end - start).days + 1 > MAX_SPAN_DAYS:
            errors["end_date"] = [f"The period may span at most {MAX_SPAN_DAYS} days."]

    group_by = request.query_params.get("group_by", "")
    if group_by not in ("", "facility"):
        errors["group_by"] = ["The only grouping is 'facility'."]
    granularity = request.query_params.get("granularity", "day")
    if granularity not in GRANULARITIES:
        errors["granularity"] = [f"Must be one of: {', '.join(GRANULARITIES)}."]
    elif granularity == "hour" and not errors and (end - start).days + 1 > MAX_HOURLY_DAYS:
        errors["granularity"] = [f"Hourly series cover periods of at most {MAX_HOURLY_DAYS} days."]
    fresh_raw = request.query_params.get("fresh", "false").lower()
    if fresh_raw not in ("true", "false", "1", "0"):
        errors["fresh"] = ["Use true or false."]
    fresh = fresh_raw in ("true", "1")
    if fresh and not errors and (end - start).days + 1 > MAX_FRESH_DAYS:
        errors["fresh"] = [f"Fresh numbers are computed for periods of at most {MAX_FRESH_DAYS} days."]

    clean_extra = {}
    for name, check in extra.items():
        if name in request.query_params:
            try:
                clean_extra[name] = check(request.query_params.get(name))
            except ValueError as exc:
                errors[name] = [str(exc)]
    if errors:
        raise exceptions.ValidationError(errors)

    user = request.user
    if fresh and principal_role(user) not in CAPABILITY_HOLDERS[Capability.READ_FRESH]:
        raise exceptions.PermissionDenied("Fresh numbers are for Admins and Recruiters.")
    return kpi_params_for(
        user=user,
        start=start,
        end=end,
        facility_codes=requested,
        group_by_facility=group_by == "facility",
        granularity=granularity,
        fresh=fresh,
        extra=clean_extra,
    )


def caller_today(user, codes: list[str] | tuple[str, ...] = ()) -> date:
    """Today at the facilities ``codes`` (all of the caller's when none) when they share a time
    zone, else in REPORTING_TIME_ZONE: where a default period ends (the API and the console).
    Codes the caller may not see are left to kpi_params_for to refuse."""
    scope = caller_scope(user)
    wanted = set(codes)
    zones = {scope.zones.get(facility_id) for facility_id, code in scope.visible.items()
             if not wanted or code in wanted}  # fmt: skip
    return reporting_today(zones.pop() if len(zones) == 1 else None)


def kpi_params_for(
    *,
    user,
    start: date,
    end: date,
    facility_codes: list[str] | None = None,
    group_by_facility: bool = False,
    granularity: str = "day",
    fresh: bool = False,
    extra: dict | None = None,
) -> KpiParams:
    """Resolve ``user``'s scope and privacy level for a KPI question. Requested facilities the
    user may not see are a 404 (unknown and not-yours answer alike); none requested = all of
    the user's. Used by the API (per request) and by scheduled reports (as the owner, at run time)."""
    scope = caller_scope(user)
    if facility_codes:
        wanted = set(facility_codes)
        found = {code: facility_id for facility_id, code in scope.visible.items() if code in wanted}
        missing = sorted(wanted - set(found))
        if missing:
            raise exceptions.NotFound(f"Facility not found: {', '.join(missing)}.")
        ids = tuple(sorted(found.values()))
        codes = tuple(sorted(found))
        personal = scope.personal.issuperset(ids)
    else:
        ids, codes, personal = scope.all_ids, scope.all_codes, scope.personal_everywhere
    suppress = settings.PRIVACY_MODE and not personal
    return KpiParams(
        start=start,
        end=end,
        facility_ids=ids,
        facility_codes=codes,
        group_by_facility=group_by_facility,
        granularity=granularity,
        fresh=fresh,
        suppress=suppress,
        extra=extra or {},
        time_zones=tuple(sorted({scope.zones.get(facility_id, settings.REPORTING_TIME_ZONE) for facility_id in ids})),
    )
