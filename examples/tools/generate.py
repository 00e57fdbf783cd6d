#!/usr/bin/env python3
"""Writes the sample tenant's org.csv, devices.csv and usage.csv.

The people are hand-written below; device models, OS versions and usage counts come from a seeded
generator, so running this again gives byte-identical files. Usage is dated relative to
2026-11-20 (the demo's "today").

    python3 examples/tools/generate.py      # from the repository root
"""

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent
TODAY = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc)
rng = random.Random(20261120)

REGION = {"Austin": "NA", "New York": "NA", "London": "EMEA", "Berlin": "EMEA", "Singapore": "APAC"}
OFFICE = {
    "Austin": "austin-office",
    "New York": "newyork-office",
    "London": "london-office",
    "Berlin": "berlin-office",
    "Singapore": "singapore-office",
}
FT, PT, CON, INT = "Full-time", "Part-time", "Contractor", "Intern"

# user_id, name, department, title, location, employment type, manager, extra groups
PEOPLE = [
    ("rchen", "Rachel Chen", "Executive", "Chief Executive Officer", "New York", FT, "", "leadership"),
    # Sales
    ("mwilliams", "Marcus Williams", "Sales", "VP of Sales", "Austin", FT, "rchen", "leadership"),
    ("amartinez", "Ana Martinez", "Sales", "Sales Manager", "Austin", FT, "mwilliams", ""),
    ("jrivera", "Jordan Rivera", "Sales", "Account Executive", "Austin", FT, "amartinez", ""),
    ("bthompson", "Brian Thompson", "Sales", "Account Executive", "Austin", FT, "amartinez", ""),
    ("kpatel", "Kavya Patel", "Sales", "Sales Development Representative", "Austin", FT, "amartinez", ""),
    ("sjohnson", "Sam Johnson", "Sales", "Sales Development Representative", "Austin", FT, "amartinez", ""),
    ("lgarcia", "Luis Garcia", "Sales", "Sales Development Representative", "Austin", FT, "amartinez", ""),
    ("ecooper", "Emily Cooper", "Sales", "Sales Engineer", "Austin", FT, "mwilliams", "pilot"),
    ("tnguyen", "Thomas Nguyen", "Sales", "Account Executive", "New York", FT, "amartinez", "pilot"),
    ("nroberts", "Noah Roberts", "Sales", "Account Executive", "New York", FT, "amartinez", ""),
    ("hclarke", "Harriet Clarke", "Sales", "Sales Manager, EMEA", "London", FT, "mwilliams", ""),
    ("owright", "Oliver Wright", "Sales", "Account Executive", "London", FT, "hclarke", ""),
    ("fmueller", "Felix Mueller", "Sales", "Account Executive", "Berlin", FT, "hclarke", ""),
    ("ischmidt", "Isabel Schmidt", "Sales", "Sales Development Representative", "Berlin", PT, "hclarke", ""),
    ("wtan", "Wei Tan", "Sales", "Sales Manager, APAC", "Singapore", FT, "mwilliams", ""),
    ("plim", "Pei Lin Lim", "Sales", "Account Executive", "Singapore", FT, "wtan", ""),
    ("rbrooks", "Ryan Brooks", "Sales", "Sales Operations Consultant", "Austin", CON, "amartinez", ""),
    # Engineering
    ("dkim", "Daniel Kim", "Engineering", "VP of Engineering", "Austin", FT, "rchen", "leadership"),
    ("jlee", "Jason Lee", "Engineering", "Engineering Manager", "Austin", FT, "dkim", ""),
    ("ebrown", "Ethan Brown", "Engineering", "Staff Software Engineer", "Austin", FT, "jlee", ""),
    ("mlopez", "Maria Lopez", "Engineering", "Software Engineer", "Austin", FT, "jlee", ""),
    ("eparker", "Ella Parker", "Engineering", "Software Engineer", "Austin", FT, "jlee", ""),
    ("gharris", "Grace Harris", "Engineering", "Software Engineering Intern", "Austin", INT, "jlee", ""),
    ("sbecker", "Sophie Becker", "Engineering", "Engineering Manager", "Berlin", FT, "dkim", ""),
    ("dpatel", "Dev Patel", "Engineering", "Senior Software Engineer", "Berlin", FT, "sbecker", ""),
    ("jfischer", "Jonas Fischer", "Engineering", "Software Engineer", "Berlin", FT, "sbecker", ""),
    ("mkowalski", "Marta Kowalski", "Engineering", "Site Reliability Engineer", "Berlin", FT, "sbecker", ""),
    ("aobi", "Adaeze Obi", "Engineering", "QA Engineer", "London", FT, "sbecker", ""),
    ("zali", "Zara Ali", "Engineering", "Data Engineer", "London", CON, "sbecker", ""),
    ("pmorris", "Peter Morris", "Engineering", "Security Engineer", "London", FT, "dkim", ""),
    ("cwong", "Chloe Wong", "Engineering", "Engineering Manager", "Singapore", FT, "dkim", ""),
    ("rsingh", "Rohan Singh", "Engineering", "Senior Software Engineer", "Singapore", FT, "cwong", "pilot"),
    ("ktanaka", "Kenji Tanaka", "Engineering", "Software Engineer", "Singapore", FT, "cwong", ""),
    ("lnguyen", "Linh Nguyen", "Engineering", "Contract Software Engineer", "Singapore", CON, "cwong", ""),
    # Marketing
    ("kmoore", "Karen Moore", "Marketing", "VP of Marketing", "New York", FT, "rchen", "leadership"),
    ("jwalsh", "Jessica Walsh", "Marketing", "Marketing Manager", "New York", FT, "kmoore", ""),
    ("dreyes", "Diego Reyes", "Marketing", "Content Marketing Manager", "New York", FT, "jwalsh", "pilot"),
    ("mhughes", "Mia Hughes", "Marketing", "Marketing Intern", "New York", INT, "jwalsh", ""),
    ("nmorgan", "Nina Morgan", "Marketing", "Product Marketing Manager", "Austin", FT, "kmoore", ""),
    ("ldubois", "Lea Dubois", "Marketing", "Field Marketing Manager", "London", FT, "kmoore", ""),
    ("ssato", "Saki Sato", "Marketing", "Marketing Coordinator", "Singapore", PT, "kmoore", ""),
    # Design
    ("abaker", "Aaron Baker", "Design", "Head of Design", "New York", FT, "dkim", ""),
    ("hwang", "Helen Wang", "Design", "Senior Product Designer", "Austin", FT, "abaker", ""),
    ("cmoreau", "Camille Moreau", "Design", "Product Designer", "London", FT, "abaker", ""),
    ("rjensen", "Rasmus Jensen", "Design", "Visual Designer", "Berlin", FT, "abaker", ""),
    ("tsilva", "Tiago Silva", "Design", "UX Researcher", "Berlin", CON, "abaker", ""),
    # Finance
    ("pcollins", "Patricia Collins", "Finance", "Chief Financial Officer", "New York", FT, "rchen", "leadership"),
    ("mevans", "Mark Evans", "Finance", "Controller", "New York", FT, "pcollins", ""),
    ("srao", "Sunita Rao", "Finance", "Financial Analyst", "New York", FT, "mevans", ""),
    ("bkeller", "Ben Keller", "Finance", "Accountant", "Berlin", FT, "mevans", ""),
    ("jtay", "Jasmine Tay", "Finance", "Accounts Payable Specialist", "Singapore", PT, "mevans", ""),
    ("hyamamoto", "Haruto Yamamoto", "Finance", "Financial Analyst", "Singapore", FT, "mevans", ""),
    # People
    ("lmitchell", "Laura Mitchell", "People", "VP of People", "Austin", FT, "rchen", "leadership"),
    ("cadams", "Chris Adams", "People", "HR Business Partner", "Austin", FT, "lmitchell", ""),
    ("fokafor", "Funmi Okafor", "People", "Talent Acquisition Lead", "London", FT, "lmitchell", ""),
    ("jdavies", "Jack Davies", "People", "Contract Recruiter", "London", CON, "fokafor", ""),
    ("ylim", "Yvonne Lim", "People", "People Operations Specialist", "Singapore", FT, "lmitchell", ""),
    # Support
    ("rflores", "Rosa Flores", "Support", "Support Manager", "Austin", FT, "rchen", ""),
    ("kwhite", "Kevin White", "Support", "Customer Support Specialist", "Austin", FT, "rflores", ""),
    ("aperez", "Andrea Perez", "Support", "Customer Support Specialist", "Austin", PT, "rflores", ""),
    ("sobrien", "Sean OBrien", "Support", "Support Team Lead, EMEA", "London", FT, "rflores", ""),
    ("vroy", "Victor Roy", "Support", "Technical Support Engineer", "London", FT, "sobrien", ""),
    ("mnovak", "Milan Novak", "Support", "Customer Support Specialist", "Berlin", FT, "sobrien", ""),
    ("lchua", "Lucas Chua", "Support", "Customer Support Specialist", "Singapore", FT, "rflores", ""),
    # IT
    ("gmurphy", "Gavin Murphy", "IT", "IT Director", "Austin", FT, "rchen", "leadership;pilot"),
    ("ncampbell", "Nora Campbell", "IT", "Endpoint Engineer", "Austin", FT, "gmurphy", "pilot"),
    ("ahoffmann", "Anna Hoffmann", "IT", "IT Support Specialist", "Berlin", FT, "gmurphy", ""),
    ("dgoh", "Darren Goh", "IT", "IT Support Specialist", "Singapore", FT, "gmurphy", ""),
    ("okim", "Olivia Kim", "IT", "IT Intern", "New York", INT, "gmurphy", ""),
]

# New hires whose devices are not enrolled yet.
NOT_ENROLLED = {"nroberts", "eparker", "hyamamoto", "mhughes"}
# The demo's joiner: enrolled, but too new to have any usage.
JOINERS = {"jrivera"}

# Explicit devices for the users the demo and the tests talk about:
# platform, os_version, model, ownership, compliant
FIXED_DEVICES = {
    # the joiner: a new Austin Account Executive, enrolled by IT before HR's joiner event
    "jrivera": [("iOS", "18.1", "iPhone 16", "Corporate", True),
                ("macOS", "15.1", "MacBook Air 13-inch (M3)", "Corporate", True)],
    # the mover (Sales -> Marketing): personal iPhone and a corporate Windows laptop
    "tnguyen": [("iOS", "17.6.1", "iPhone 14", "Employee", True),
                ("Windows", "10.0.22631", "Dell Latitude 7440", "Corporate", True)],
    # the leaver
    "dpatel": [("macOS", "15.1", "MacBook Pro 14-inch (M3 Pro)", "Corporate", True),
               ("Android", "15", "Google Pixel 8", "Employee", True)],
    # a contractor with a corporate laptop
    "lnguyen": [("macOS", "14.7", "MacBook Pro 14-inch (M2 Pro)", "Corporate", True)],
    # an engineer on a personal Mac (BYOD guardrail)
    "mkowalski": [("macOS", "15.0.1", "MacBook Pro 16-inch (M1 Max)", "Employee", True),
                  ("iOS", "18.0.1", "iPhone 15 Pro", "Corporate", True)],
    # a non-compliant phone
    "bthompson": [("Android", "13", "Samsung Galaxy S22", "Corporate", False),
                  ("Windows", "10.0.22631", "Lenovo ThinkPad T14 Gen 4", "Corporate", True)],
    # a shared support desk PC
    "kwhite": [("Windows", "10.0.19045", "HP EliteDesk 800 G6", "Shared", True),
               ("Android", "14", "Samsung Galaxy A54", "Corporate", True)],
    "aperez": [("Windows", "10.0.19045", "HP EliteDesk 800 G6", "Shared", True)],
    # a shared review iPad in the Berlin studio
    "rjensen": [("macOS", "15.1", "MacBook Pro 14-inch (M3 Pro)", "Corporate", True),
                ("iOS", "18.1", "iPad Pro 11-inch (M4)", "Shared", True)],
}

MODELS = {
    "iOS": [("iPhone 15", ["17.6.1", "18.0.1", "18.1"]), ("iPhone 14", ["17.5.1", "18.1"]),
            ("iPhone 13", ["16.7.10", "17.6.1"]), ("iPad Pro 11-inch (M4)", ["18.1"])],
    "Android": [("Samsung Galaxy S24", ["14", "15"]), ("Google Pixel 8", ["14", "15"]),
                ("Samsung Galaxy A54", ["13", "14"])],
    "Windows": [("Dell Latitude 7440", ["10.0.22631", "10.0.26100"]),
                ("Lenovo ThinkPad T14 Gen 4", ["10.0.22631"]),
                ("Microsoft Surface Laptop 5", ["10.0.22621", "10.0.22631"]),
                ("HP EliteBook 840 G10", ["10.0.19045", "10.0.22631"])],
    "macOS": [("MacBook Pro 14-inch (M3 Pro)", ["14.7", "15.1"]),
              ("MacBook Air 13-inch (M2)", ["14.6.1", "15.0.1"]),
              ("MacBook Pro 16-inch (M1 Max)", ["13.6.9", "14.7"])],
}

# Which laptop a department gets and whether its phone is usually corporate.
LAPTOP = {"Engineering": "macOS", "Design": "macOS", "Marketing": "macOS", "Executive": "macOS",
          "Sales": "macOS", "Finance": "Windows", "People": "Windows", "Support": "Windows",
          "IT": "Windows"}

NON_COMPLIANT = {("sjohnson", "iOS"), ("ssato", "Android"), ("jfischer", "macOS")}


def devices_for(user, dept, kind):
    if user in NOT_ENROLLED:
        return []
    if user in FIXED_DEVICES:
        return FIXED_DEVICES[user]
    laptop = LAPTOP[dept]
    if dept == "Sales" and rng.random() < 0.35:
        laptop = "Windows"
    phone = "iOS" if rng.random() < 0.65 else "Android"
    phone_owner = "Employee" if rng.random() < 0.3 else "Corporate"
    plan = [(laptop, "Corporate")]
    if kind != CON or rng.random() < 0.3:
        plan.append((phone, phone_owner))
    if dept == "Design" and rng.random() < 0.5:
        plan.append(("iOS", "Corporate"))  # an iPad for reviews
    out = []
    for platform, owner in plan:
        model, versions = rng.choice(MODELS[platform])
        if dept == "Design" and platform == "iOS" and len(out) == 2:
            model, versions = "iPad Pro 11-inch (M4)", ["18.1"]
        out.append((platform, rng.choice(versions), model, owner,
                    (user, platform) not in NON_COMPLIANT))
    return out


# What people use, by department: app -> (typical weekly use, share of the team that uses it)
CORE_USE = {"outlook": (60, 0.95), "microsoft-teams": (25, 0.7), "slack": (90, 0.95),
            "zoom": (20, 0.85), "word": (10, 0.6), "excel": (12, 0.6), "onedrive": (8, 0.7),
            "workday": (3, 0.5), "okta-verify": (40, 0.98), "1password": (35, 0.8),
            "workspace-one-hub": (2, 0.6)}
DEPT_USE = {
    "Sales": {"salesforce": (80, 0.95), "salesloft": (50, 0.8), "gong": (25, 0.7),
              "docusign": (6, 0.6), "concur": (4, 0.5), "lucidchart": (2, 0.1)},
    "Engineering": {"jira": (70, 0.95), "confluence": (30, 0.85), "github-desktop": (20, 0.5),
                    "vscode": (120, 0.9), "docker-desktop": (40, 0.75), "postman": (15, 0.6),
                    "notion": (10, 0.35), "lucidchart": (3, 0.3), "figma": (3, 0.25)},
    "Marketing": {"hubspot": (60, 0.9), "canva": (30, 0.8), "adobe-creative-cloud": (15, 0.5),
                  "figma": (8, 0.5), "notion": (12, 0.5), "miro": (6, 0.4)},
    "Design": {"figma": (100, 1.0), "adobe-creative-cloud": (40, 0.8), "miro": (25, 0.8),
               "notion": (6, 0.3)},
    "Finance": {"excel": (90, 1.0), "tableau": (30, 0.8), "concur": (20, 0.9),
                "docusign": (8, 0.6)},
    "People": {"greenhouse": (40, 0.8), "lattice": (20, 0.8), "docusign": (15, 0.8),
               "workday": (30, 1.0)},
    "Support": {"zendesk": (150, 1.0), "aircall": (60, 0.9), "lucidchart": (2, 0.2)},
    "IT": {"teamviewer": (30, 0.8), "microsoft-remote-desktop": (25, 0.8),
           "lucidchart": (6, 0.6), "vscode": (10, 0.5), "postman": (4, 0.3)},
    "Executive": {"tableau": (10, 1.0), "docusign": (10, 1.0)},
}
MANAGER_USE = {"lattice": (6, 0.7), "tableau": (5, 0.4), "concur": (8, 0.8)}
PILOT_USE = {"microsoft-copilot": (15, 0.8)}

# Licensed seats nobody has opened in months: what license reclamation should find.
STALE = {("owright", "gong"), ("fmueller", "salesloft"), ("plim", "gong"),
         ("ebrown", "docker-desktop"), ("ktanaka", "postman"), ("rjensen", "adobe-creative-cloud"),
         ("ldubois", "adobe-creative-cloud"), ("srao", "tableau"), ("sobrien", "aircall"),
         ("cwong", "tableau"), ("jlee", "lattice"), ("dreyes", "hubspot")}


def main():
    org_rows, device_rows, usage_rows = [], [], []
    managers = {p[6] for p in PEOPLE if p[6]}
    device_id = 10001
    for user, _name, dept, title, location, kind, manager, extra in PEOPLE:
        groups = ["all-staff", dept.lower(), OFFICE[location]]
        if kind == CON:
            groups.append("contractors")
        if kind == INT:
            groups.append("interns")
        if user in managers:
            groups.append("people-managers")
        groups += [g for g in extra.split(";") if g]
        org_rows.append([user, f"{user}@example.com", dept, title, location, REGION[location],
                         kind, manager, ";".join(groups)])

        for platform, version, model, owner, compliant in devices_for(user, dept, kind):
            device_rows.append([str(device_id), user, platform, version, model, owner,
                                "true" if compliant else "false"])
            device_id += 1

        if user in NOT_ENROLLED or user in JOINERS:
            continue
        uses = dict(CORE_USE)
        uses.update(DEPT_USE[dept])
        if user in managers:
            uses.update(MANAGER_USE)
        if "pilot" in extra:
            uses.update(PILOT_USE)
        for app, (weekly, share) in sorted(uses.items()):
            if kind == CON and app in {"salesforce", "jira", "docker-desktop", "gong"}:
                continue
            stale = (user, app) in STALE
            if not stale and rng.random() > share:
                continue
            if stale:
                launches = 0
                last = TODAY - timedelta(days=rng.randint(62, 140), hours=rng.randint(0, 10))
            else:
                launches = max(1, round(weekly * 4.3 * rng.uniform(0.5, 1.4)))
                last = TODAY - timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 10),
                                         minutes=rng.randint(0, 59))
            usage_rows.append([user, app, launches, last.strftime("%Y-%m-%dT%H:%M:%SZ")])

    write(OUT / "org.csv", ["user_id", "email", "department", "title", "location", "region",
                            "employment_type", "manager_id", "groups"], org_rows)
    write(OUT / "devices.csv", ["device_id", "user_id", "platform", "os_version", "model",
                                "ownership", "compliant"], device_rows)
    write(OUT / "usage.csv", ["user_id", "app_id", "launches_30d", "last_used_at"], usage_rows)


def write(path, header, rows):
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    main()
