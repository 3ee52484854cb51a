"""Deterministic demo data for accounts: the facilities every other demo record hangs on."""

from accounts.models import Facility

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
