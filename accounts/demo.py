"""Deterministic demo data for accounts: the facilities every other demo record hangs on."""

from accounts.models import Facility, Role, User
from accounts.principals import Actor
from accounts.services import user_create, user_set_access

DEMO_FACILITIES: list[tuple[str, str, str, str]] = [
    ("MERCY-01", "Mercy General Hospital", "Northeast", "America/New_York"),
    ("STJ-02", "St. John's Medical Center", "Northeast", "America/New_York"),
    ("LAKE-03", "Lakeside Community Hospital", "Midwest", "America/Chicago"),
    ("RIVR-04", "Riverside Regional", "Midwest", "America/Chicago"),
    ("SUMT-05", "Summit Health Clinic", "Mountain", "America/Denver"),
    ("PINE-06", "Pinecrest Rehabilitation", "Mountain", "America/Denver"),
    ("BAY-07", "Bayview Medical", "West", "America/Los_Angeles"),
    ("CYPR-08", "Cypress Children's Hospital", "West", "America/Los_Angeles"),
    ("OAK-09", "Oakwood Senior Care", "South", "America/Chicago"),
    ("HARB-10", "Harbor Point Hospital", "South", "America/New_York"),
    ("VALL-11", "Valley Outpatient Center", "West", "America/Phoenix"),
    ("GRAN-12", "Granite State Medical", "Northeast", "America/New_York"),
    ("PRAI-13", "Prairie Health System", "Midwest", "America/Chicago"),
    ("DSRT-14", "Desert Springs Clinic", "Mountain", "America/Phoenix"),
    ("COAS-15", "Coastal Behavioral Health", "South", "America/New_York"),
    ("MAPL-16", "Maple Grove Hospital", "Midwest", "America/Chicago"),
    ("CEDR-17", "Cedar Ridge Surgical", "South", "America/Chicago"),
    ("AURA-18", "Aurora Women's Health", "West", "America/Los_Angeles"),
    ("NORT-19", "Northstar Trauma Center", "Midwest", "America/Chicago"),
    ("ISLE-20", "Island Medical Group", "West", "Pacific/Honolulu"),
]


def seed_facilities() -> list[Facility]:
    facilities = []
    for code, name, region, time_zone in DEMO_FACILITIES:
        facility, _ = Facility.objects.update_or_create(
            code=code, defaults={"name": name, "region": region, "time_zone": time_zone, "active": True}
        )
        facilities.append(facility)
    return facilities


DEMO_FACILITY_SUBSET = ["MERCY-01", "STJ-02", "LAKE-03"]
DEMO_USERS: list[tuple[str, str]] = [
    ("demo-admin", Role.ADMIN),
    ("demo-recruiter", Role.RECRUITER),
    ("demo-viewer", Role.VIEWER),
]


def seed_users(*, password: str) -> list[tuple[User, list[str]]]:
    """One user per role; Recruiter and Viewer granted a subset of facilities."""
    by = Actor.system("seed_demo")
    subset = list(Facility.objects.filter(code__in=DEMO_FACILITY_SUBSET))
    seeded = []
    for username, role in DEMO_USERS:
        facilities = [] if role == Role.ADMIN else subset
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                by=by,
                username=username,
                password=password,
                email=f"{username}@example.com",
                role=role,
                facilities=facilities,
            )
        else:
            user_set_access(by=by, user=user, role=role, facilities=facilities)
        seeded.append((user, sorted(f.code for f in facilities) if facilities else ["all"]))
    return seeded
