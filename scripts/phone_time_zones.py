"""Writes dbt_project/seeds/phone_prefix_time_zones.csv: the NANP area codes (+1 and three digits) that lie in one
time zone, by the `phonenumbers` library's geographic data. Re-run after upgrading phonenumbers."""

from pathlib import Path

import phonenumbers
from phonenumbers import timezone

OUT = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "phone_prefix_time_zones.csv"


def main() -> None:
    rows = []
    for area in range(200, 1000):
        zones = timezone.time_zones_for_number(phonenumbers.parse(f"+1{area}2345678"))
        if len(zones) == 1 and zones[0] != timezone.UNKNOWN_TIMEZONE:  # an area code spanning zones says nothing
            rows.append(f"+1{area},{zones[0]}")
    OUT.write_text("phone_prefix,time_zone\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
