#!/usr/bin/env python3
"""Writes a larger synthetic tenant with realistic structure, for the relevance model's evaluation
(`loadout model eval`) and for `loadout simulate` / `loadout policy check --org` at scale.

    python3 examples/tools/synthetic.py                       # 1500 people into examples/generated
    python3 examples/tools/synthetic.py --users 5000 --seed 3 --out /tmp/tenant

Deterministic: the same seed and size give byte-identical files. What it models:
- 12 departments of uneven size, each with its titles (and a manager title), spread over 10 offices
  in 3 regions with department-specific weights; a manager hierarchy (head of department, team
  managers per office, individual contributors); full-time, part-time, contractor and intern staff;
  directory groups (department, office, people-managers, leadership, contractors, interns, a small
  pilot group, and project groups no policy reads).
- About 300 catalog apps: core and security apps most people use; per-department apps (a few used
  by most of the department, the rest by some); per-title apps; regional apps of a department in one
  region (title x location structure); co-used pairs (people who use the first mostly use the second
  too); cross-department productivity apps by personal taste; a long tail of niche apps used by a few
  people at random (noise the model cannot predict).
- Heavy-tailed launch counts (log-normal per person and app), last-use dates relative to
  2026-11-20, and idle licensed seats (0 launches, last used 2-5 months ago).
- Devices: a laptop whose OS depends on the department, a phone (corporate or personal), some iPads,
  a few non-compliant devices, and new hires not enrolled yet.
"""

import argparse
import csv
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

TODAY = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc)

OFFICES = {  # location: (region, office group)
    "Austin": ("NA", "austin-office"),
    "New York": ("NA", "newyork-office"),
    "San Francisco": ("NA", "sanfrancisco-office"),
    "Toronto": ("NA", "toronto-office"),
    "London": ("EMEA", "london-office"),
    "Berlin": ("EMEA", "berlin-office"),
    "Dublin": ("EMEA", "dublin-office"),
    "Singapore": ("APAC", "singapore-office"),
    "Sydney": ("APAC", "sydney-office"),
    "Bangalore": ("APAC", "bangalore-office"),
}
DEFAULT_OFFICES = {"Austin": 3, "New York": 3, "San Francisco": 2, "Toronto": 1, "London": 2,
                   "Berlin": 1, "Dublin": 1, "Singapore": 1, "Sydney": 1, "Bangalore": 1}

# department: share of staff, laptop OS weights (macOS share), office weights (override defaults),
# head title, team manager title, titles with weights
DEPARTMENTS = {
    "Engineering": (22, 0.85, {"San Francisco": 4, "Austin": 3, "Berlin": 3, "Bangalore": 3,
                               "Toronto": 2, "London": 1, "New York": 0, "Dublin": 0, "Sydney": 0,
                               "Singapore": 0},
                    "VP of Engineering", "Engineering Manager",
                    {"Software Engineer": 30, "Senior Software Engineer": 22, "Frontend Engineer": 10,
                     "Mobile Engineer": 7, "Site Reliability Engineer": 8, "QA Engineer": 8,
                     "Security Engineer": 5}),
    "Sales": (17, 0.6, {"New York": 4, "Austin": 3, "London": 3, "San Francisco": 2, "Sydney": 2,
                        "Singapore": 2, "Dublin": 1, "Toronto": 1, "Berlin": 1, "Bangalore": 0},
              "VP of Sales", "Sales Manager",
              {"Account Executive": 32, "Sales Development Representative": 28,
               "Account Manager": 15, "Sales Engineer": 10, "Sales Operations Analyst": 5}),
    "Support": (11, 0.1, {"Dublin": 4, "Bangalore": 4, "Austin": 3, "Singapore": 2, "Toronto": 1,
                          "New York": 0, "San Francisco": 0, "London": 1, "Berlin": 0, "Sydney": 1},
                "VP of Customer Support", "Support Manager",
                {"Customer Support Specialist": 50, "Technical Support Engineer": 25,
                 "Customer Success Manager": 15, "Support Operations Analyst": 5}),
    "Marketing": (8, 0.8, {"New York": 4, "San Francisco": 2, "London": 2, "Austin": 1},
                  "VP of Marketing", "Marketing Manager",
                  {"Product Marketing Manager": 20, "Content Marketing Manager": 15,
                   "Growth Marketer": 15, "Field Marketing Manager": 15, "Marketing Coordinator": 15,
                   "Brand Designer": 8}),
    "Product": (6, 0.9, {"San Francisco": 4, "Austin": 2, "Berlin": 2, "London": 1, "Toronto": 1},
                "VP of Product", "Group Product Manager",
                {"Product Manager": 45, "Senior Product Manager": 25,
                 "Technical Program Manager": 15, "Product Analyst": 15}),
    "Operations": (6, 0.4, {}, "VP of Operations", "Operations Manager",
                   {"Business Operations Analyst": 30, "Program Manager": 25,
                    "Procurement Specialist": 20, "Facilities Coordinator": 25}),
    "Data": (5, 0.85, {"San Francisco": 3, "Berlin": 2, "Bangalore": 3, "Toronto": 1, "London": 1},
             "Head of Data", "Data Science Manager",
             {"Data Scientist": 35, "Data Analyst": 35, "Machine Learning Engineer": 15,
              "Analytics Engineer": 15}),
    "Design": (5, 0.95, {"San Francisco": 3, "New York": 2, "Berlin": 2, "London": 2},
               "Head of Design", "Design Manager",
               {"Product Designer": 40, "Senior Product Designer": 20, "UX Researcher": 20,
                "Visual Designer": 10, "Content Designer": 10}),
    "Finance": (5, 0.15, {"New York": 4, "Austin": 2, "London": 2, "Singapore": 1, "Dublin": 1},
                "Chief Financial Officer", "Finance Manager",
                {"Financial Analyst": 35, "Accountant": 30, "Accounts Payable Specialist": 15,
                 "Payroll Specialist": 10, "Tax Specialist": 10}),
    "People": (4, 0.2, {"Austin": 3, "London": 2, "New York": 1, "Singapore": 1},
               "VP of People", "People Partner Manager",
               {"HR Business Partner": 30, "Recruiter": 35, "People Operations Specialist": 20,
                "Learning and Development Specialist": 15}),
    "IT": (4, 0.3, {"Austin": 3, "Dublin": 2, "Bangalore": 2, "New York": 1},
           "IT Director", "IT Manager",
           {"IT Support Specialist": 45, "Endpoint Engineer": 20, "Systems Administrator": 20,
            "Network Engineer": 15}),
    "Legal": (3, 0.5, {"New York": 4, "London": 2, "San Francisco": 1},
              "General Counsel", "Legal Manager",
              {"Corporate Counsel": 35, "Paralegal": 30, "Contracts Manager": 25,
               "Privacy Counsel": 10}),
}

CORE = [  # id, name, adoption, weekly launches, licensed, cost
    ("workspace-one-hub", "Workspace ONE Intelligent Hub", 0.65, 2, False, 0),
    ("outlook", "Microsoft Outlook", 0.95, 60, True, 6.0),
    ("word", "Microsoft Word", 0.7, 10, True, 6.0),
    ("excel", "Microsoft Excel", 0.7, 12, True, 6.0),
    ("onedrive", "Microsoft OneDrive", 0.75, 8, True, 4.0),
    ("microsoft-teams", "Microsoft Teams", 0.7, 25, False, 0),
    ("slack", "Slack", 0.95, 90, True, 8.75),
    ("zoom", "Zoom Workplace", 0.88, 20, True, 13.33),
    ("workday", "Workday", 0.55, 3, False, 0),
    ("okta-verify", "Okta Verify", 0.97, 40, False, 0),
    ("crowdstrike-falcon", "CrowdStrike Falcon", 0.9, 1, True, 8.99),
    ("1password", "1Password", 0.82, 35, True, 7.99),
]

# Department apps: (id, name); the first four are the department's everyday tools.
DEPARTMENT_APPS = {
    "Engineering": [("jira", "Jira Cloud"), ("confluence", "Confluence"), ("vscode", "Visual Studio Code"),
                    ("github-desktop", "GitHub Desktop"), ("docker-desktop", "Docker Desktop"),
                    ("postman", "Postman"), ("datadog", "Datadog"), ("pagerduty", "PagerDuty"),
                    ("sentry", "Sentry"), ("intellij-idea", "IntelliJ IDEA")],
    "Sales": [("salesforce", "Salesforce"), ("salesloft", "Salesloft"), ("gong", "Gong"),
              ("docusign", "DocuSign"), ("linkedin-sales-navigator", "LinkedIn Sales Navigator"),
              ("zoominfo", "ZoomInfo"), ("clari", "Clari"), ("highspot", "Highspot"),
              ("chorus", "Chorus")],
    "Support": [("zendesk", "Zendesk Support"), ("aircall", "Aircall"), ("intercom", "Intercom"),
                ("statuspage", "Statuspage"), ("guru", "Guru"), ("loom", "Loom"),
                ("gainsight", "Gainsight"), ("klaus", "Klaus")],
    "Marketing": [("hubspot", "HubSpot"), ("canva", "Canva"), ("adobe-creative-cloud", "Adobe Creative Cloud"),
                  ("semrush", "Semrush"), ("google-analytics", "Google Analytics"), ("hootsuite", "Hootsuite"),
                  ("marketo", "Marketo"), ("wistia", "Wistia"), ("contentful", "Contentful")],
    "Product": [("productboard", "Productboard"), ("amplitude", "Amplitude"), ("jira-product-discovery", "Jira Product Discovery"),
                ("pendo", "Pendo"), ("fullstory", "FullStory"), ("dovetail", "Dovetail"),
                ("aha", "Aha! Roadmaps"), ("launchdarkly", "LaunchDarkly")],
    "Operations": [("smartsheet", "Smartsheet"), ("coupa", "Coupa"), ("asana", "Asana"),
                   ("airtable", "Airtable"), ("zapier", "Zapier"), ("envoy", "Envoy"),
                   ("ironclad-ops", "Ironclad Workflows"), ("monday", "monday.com")],
    "Data": [("snowflake", "Snowflake"), ("dbt-cloud", "dbt Cloud"), ("looker", "Looker"),
             ("jupyter", "JupyterLab Desktop"), ("databricks", "Databricks"), ("hex", "Hex"),
             ("fivetran", "Fivetran"), ("mode", "Mode Analytics")],
    "Design": [("figma", "Figma"), ("miro", "Miro"), ("adobe-creative-cloud-design", "Adobe Creative Cloud for Teams"),
               ("sketch", "Sketch"), ("principle", "Principle"), ("maze", "Maze"),
               ("zeplin", "Zeplin"), ("lottiefiles", "LottieFiles")],
    "Finance": [("tableau", "Tableau"), ("concur", "SAP Concur"), ("netsuite", "NetSuite"),
                ("bill-com", "BILL"), ("adaptive-planning", "Workday Adaptive Planning"),
                ("expensify", "Expensify"), ("avalara", "Avalara"), ("floqast", "FloQast")],
    "People": [("greenhouse", "Greenhouse Recruiting"), ("lattice", "Lattice"), ("docusign-people", "DocuSign for HR"),
               ("culture-amp", "Culture Amp"), ("linkedin-recruiter", "LinkedIn Recruiter"),
               ("gem", "Gem"), ("bamboohr", "BambooHR"), ("workramp", "WorkRamp")],
    "IT": [("teamviewer", "TeamViewer"), ("microsoft-remote-desktop", "Windows App (Remote Desktop)"),
           ("jamf-self-service", "Jamf Self Service"), ("servicenow-agent", "ServiceNow Agent"),
           ("wireshark", "Wireshark"), ("putty", "PuTTY"), ("okta-admin", "Okta Admin"),
           ("lucidchart", "Lucidchart")],
    "Legal": [("ironclad", "Ironclad"), ("docusign-legal", "DocuSign CLM"), ("westlaw", "Westlaw Edge"),
              ("lexisnexis", "Lexis+"), ("onetrust", "OneTrust"), ("clio", "Clio"),
              ("adobe-acrobat-pro", "Adobe Acrobat Pro"), ("relativity", "Relativity")],
}

# Title-specific apps (id, name) beyond the department's.
TITLE_APPS = {
    "Sales Engineer": [("postman", None), ("demostack", "Demostack"), ("vscode", None)],
    "Sales Development Representative": [("outreach-dialer", "Orum"), ("lusha", "Lusha")],
    "Account Executive": [("pandadoc", "PandaDoc"), ("dealhub", "DealHub")],
    "Account Manager": [("gainsight-am", "Gainsight for AMs"), ("vitally", "Vitally")],
    "Sales Operations Analyst": [("tableau", None), ("leandata", "LeanData")],
    "Senior Software Engineer": [("lucidchart", None), ("notion", None)],
    "Frontend Engineer": [("figma", None), ("storybook", "Storybook"), ("browserstack", "BrowserStack")],
    "Mobile Engineer": [("xcode", "Xcode"), ("android-studio", "Android Studio"), ("firebase-console", "Firebase Console")],
    "Site Reliability Engineer": [("terraform-cloud", "Terraform Cloud"), ("grafana", "Grafana"), ("aws-console", "AWS Console")],
    "QA Engineer": [("testrail", "TestRail"), ("browserstack", None)],
    "Security Engineer": [("wireshark", None), ("burp-suite", "Burp Suite"), ("snyk", "Snyk")],
    "Customer Success Manager": [("gainsight", None), ("vitally", None)],
    "Technical Support Engineer": [("postman", None), ("datadog", None)],
    "Support Operations Analyst": [("tableau", None), ("airtable", None)],
    "Product Marketing Manager": [("figma", None), ("klue", "Klue")],
    "Growth Marketer": [("optimizely", "Optimizely"), ("amplitude", None)],
    "Content Marketing Manager": [("grammarly", "Grammarly Business"), ("wordpress", "WordPress")],
    "Field Marketing Manager": [("cvent", "Cvent"), ("bizzabo", "Bizzabo")],
    "Brand Designer": [("figma", None), ("adobe-creative-cloud-design", None)],
    "Technical Program Manager": [("jira", None), ("smartsheet", None)],
    "Product Analyst": [("looker", None), ("mode", None)],
    "Procurement Specialist": [("zip-procurement", "Zip"), ("netsuite", None)],
    "Facilities Coordinator": [("robin", "Robin"), ("officespace", "OfficeSpace")],
    "Data Scientist": [("jupyter", None), ("weights-and-biases", "Weights & Biases")],
    "Machine Learning Engineer": [("weights-and-biases", None), ("vscode", None), ("docker-desktop", None)],
    "Analytics Engineer": [("vscode", None), ("dbt-cloud", None)],
    "UX Researcher": [("dovetail", None), ("userinterviews", "User Interviews"), ("maze", None)],
    "Content Designer": [("grammarly", None), ("notion", None)],
    "Payroll Specialist": [("adp-workforce", "ADP Workforce Now")],
    "Tax Specialist": [("avalara", None), ("thomson-onesource", "ONESOURCE")],
    "Recruiter": [("linkedin-recruiter", None), ("calendly", "Calendly")],
    "Learning and Development Specialist": [("workramp", None), ("articulate-360", "Articulate 360")],
    "Network Engineer": [("wireshark", None), ("putty", None), ("solarwinds", "SolarWinds")],
    "Systems Administrator": [("putty", None), ("aws-console", None)],
    "Endpoint Engineer": [("jamf-pro", "Jamf Pro"), ("powershell", "PowerShell 7")],
    "Privacy Counsel": [("onetrust", None), ("transcend", "Transcend")],
    "Paralegal": [("clio", None), ("adobe-acrobat-pro", None)],
}
MANAGER_APPS = [("lattice", None), ("tableau", None), ("concur", None), ("culture-amp", None)]

# Regional apps: a department's tool in one region (title x location structure).
REGIONAL_APPS = {
    ("Sales", "EMEA"): [("vatcheck-emea", "VAT Check EU"), ("pipedrive-emea", "Pipedrive EMEA")],
    ("Sales", "APAC"): [("line-works", "LINE WORKS"), ("zoominfo-apac", "ZoomInfo APAC")],
    ("Sales", "NA"): [("dialpad", "Dialpad")],
    ("Support", "EMEA"): [("translate-desk", "Unbabel")],
    ("Support", "APAC"): [("freshcaller", "Freshcaller")],
    ("Finance", "EMEA"): [("sage-intacct-uk", "Sage Intacct UK"), ("datev", "DATEV")],
    ("Finance", "APAC"): [("xero", "Xero")],
    ("People", "EMEA"): [("personio", "Personio")],
    ("People", "APAC"): [("employment-hero", "Employment Hero")],
    ("Engineering", "APAC"): [("zoho-cliq", "Zoho Cliq")],
    ("Engineering", "EMEA"): [("gitlab-emea", "GitLab EU")],
    ("Legal", "EMEA"): [("gdpr-register", "GDPR Register")],
    ("Marketing", "EMEA"): [("brandwatch", "Brandwatch")],
    ("Operations", "APAC"): [("deskbird", "deskbird")],
}
# Office apps: used by most people of an office, whatever their department.
OFFICE_APPS = {"London": ("citymapper-business", "Citymapper Business"),
               "Berlin": ("bvg-jobticket", "BVG Jobticket"),
               "Bangalore": ("cab-booking-blr", "MoveInSync"),
               "Singapore": ("grab-for-business", "Grab for Business")}

# Co-used pairs: people who use the first mostly use the second.
PAIRS = [("notion", "notion-calendar", "Notion Calendar"), ("figma", "figjam", "FigJam"),
         ("tableau", "tableau-prep", "Tableau Prep"), ("jira", "jira-align", "Jira Align"),
         ("salesforce", "salesforce-inbox", "Salesforce Inbox"), ("zendesk", "zendesk-explore", "Zendesk Explore"),
         ("hubspot", "hubspot-sales-hub", "HubSpot Sales Hub"), ("looker", "looker-studio", "Looker Studio"),
         ("docker-desktop", "kubernetes-lens", "Lens"), ("greenhouse", "greenhouse-onboarding", "Greenhouse Onboarding"),
         ("snowflake", "snowsight", "Snowsight"), ("miro", "miro-ai", "Miro AI"),
         ("lucidchart", "lucidspark", "Lucidspark"), ("coupa", "coupa-pay", "Coupa Pay"),
         ("grammarly", "grammarly-go", "GrammarlyGO"), ("intercom", "intercom-fin", "Fin AI Agent")]

# Productivity apps chosen by taste across departments: (id, name, base rate).
INTEREST_APPS = [("notion", "Notion", 0.25), ("miro", "Miro", 0.15), ("lucidchart", "Lucidchart", 0.1),
                 ("todoist", "Todoist", 0.08), ("grammarly", "Grammarly Business", 0.12),
                 ("calendly", "Calendly", 0.1), ("loom", "Loom", 0.12), ("otter-ai", "Otter.ai", 0.06),
                 ("microsoft-copilot", "Microsoft 365 Copilot", 0.05), ("chatgpt-enterprise", "ChatGPT Enterprise", 0.15)]

TAIL_WORDS_A = ["swift", "clear", "bright", "quick", "deep", "open", "smart", "true", "blue", "north",
                "prime", "zen", "pulse", "nova", "sky", "iron", "echo", "flux", "rapid", "solid"]
TAIL_WORDS_B = ["notes", "board", "sync", "track", "flow", "desk", "vault", "scan", "chart", "link",
                "mail", "plan", "draw", "time", "forms", "wiki", "survey", "clip", "task", "share"]
N_TAIL = 130


def weighted(rng, table):
    items = [(k, w) for k, w in table.items() if w > 0]
    total = sum(w for _, w in items)
    x = rng.random() * total
    for k, w in items:
        x -= w
        if x < 0:
            return k
    return items[-1][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=20261120)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "generated"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    catalog = build_catalog(rng)
    people = build_people(rng, args.users)
    org_rows, device_rows, usage_rows = [], [], []
    device_id = 200001
    for p in people:
        org_rows.append([p["id"], f"{p['id']}@example.com", p["dept"], p["title"], p["location"],
                         OFFICES[p["location"]][0], p["kind"], p["manager"], ";".join(p["groups"])])
        for platform, version, model, owner, compliant in devices_for(rng, p):
            device_rows.append([str(device_id), p["id"], platform, version, model, owner,
                                "true" if compliant else "false"])
            device_id += 1
        if p["new_hire"]:
            continue
        for app, launches, last in usage_for(rng, p, catalog):
            usage_rows.append([p["id"], app, launches, last.strftime("%Y-%m-%dT%H:%M:%SZ")])

    write(out / "org.csv", ["user_id", "email", "department", "title", "location", "region",
                            "employment_type", "manager_id", "groups"], org_rows)
    write(out / "devices.csv", ["device_id", "user_id", "platform", "os_version", "model",
                                "ownership", "compliant"], device_rows)
    write(out / "usage.csv", ["user_id", "app_id", "launches_30d", "last_used_at"], usage_rows)
    write_catalog(out / "catalog.yaml", catalog)
    print(f"{len(org_rows)} people, {len(device_rows)} devices, {len(usage_rows)} usage records, "
          f"{len(catalog)} apps -> {out}")


# ---- catalog -----------------------------------------------------------------------------------

ALL = ["iOS", "Android", "Windows", "macOS"]
BUNDLES = {"Engineering": "engineering", "Sales": "sales", "Support": "support",
           "Marketing": "marketing", "Design": "design", "Finance": "finance", "People": "people",
           "IT": "it"}


def build_catalog(rng):
    """id -> app dict with the catalog fields and the generator's own (kind, weekly)."""
    apps = {}

    def add(app_id, name, bundles, kind, weekly, licensed=None, cost=None, risk=None,
            platforms=None):
        if app_id in apps:
            return
        if licensed is None:
            licensed = rng.random() < 0.75
        if cost is None:
            cost = round(rng.choice([5, 8, 10, 12, 15, 20, 25, 35, 50, 75]) * rng.uniform(0.9, 1.1), 2) \
                if licensed else 0
        if risk is None:
            risk = weighted(rng, {"low": 6, "medium": 3, "high": 1})
        if platforms is None:
            platforms = rng.choice([ALL, ALL, ["Windows", "macOS"], ["iOS", "Android"]])
        apps[app_id] = {"id": app_id, "name": name, "bundles": bundles, "licensed": licensed,
                        "cost": cost if licensed else 0, "risk": risk, "platforms": platforms,
                        "kind": kind, "weekly": weekly}

    for app_id, name, _, weekly, licensed, cost in CORE:
        bundle = "security" if app_id in ("okta-verify", "crowdstrike-falcon", "1password") else "core"
        add(app_id, name, [bundle], "core", weekly, licensed, cost, "low", ALL)
    for dept, listed in DEPARTMENT_APPS.items():
        bundle = BUNDLES.get(dept, dept.lower())
        for i, (app_id, name) in enumerate(listed):
            add(app_id, name, [bundle] if i < 4 else [f"{bundle}-optional"], "department",
                rng.choice([10, 20, 40, 60]))
    names = {}
    for table in (TITLE_APPS, {"m": MANAGER_APPS}):
        for listed in table.values():
            for app_id, name in listed:
                if name:
                    names[app_id] = name
    for title_apps in list(TITLE_APPS.values()) + [MANAGER_APPS]:
        for app_id, _ in title_apps:
            if app_id in names:
                add(app_id, names[app_id], ["role-tools"], "title", rng.choice([5, 10, 20, 30]))
    for (dept, region), listed in REGIONAL_APPS.items():
        for app_id, name in listed:
            add(app_id, name, [f"{region.lower()}-tools"], "regional", rng.choice([5, 10, 20]))
    for location, (app_id, name) in OFFICE_APPS.items():
        add(app_id, name, ["office"], "office", 4, licensed=False, risk="low", platforms=["iOS", "Android"])
    for app_id, name, _ in INTEREST_APPS:
        add(app_id, name, ["productivity"], "interest", rng.choice([5, 10, 15]))
    for _, app_id, name in PAIRS:
        add(app_id, name, ["productivity"], "pair", rng.choice([3, 6, 10]))
    tail = 0
    for a in TAIL_WORDS_A:
        for b in TAIL_WORDS_B:
            if tail >= N_TAIL:
                break
            if rng.random() < 0.4:
                add(f"{a}{b}", f"{a.capitalize()}{b.capitalize()}", ["self-service"], "tail",
                    rng.choice([1, 2, 4]))
                tail += 1
    return apps


def write_catalog(path, catalog):
    lines = ["# Synthetic tenant catalog (examples/tools/synthetic.py): every app in usage.csv.",
             "# cost_per_seat is per user and month in USD."]
    for n, app in enumerate(catalog.values()):
        platforms = ", ".join(app["platforms"])
        bundles = ", ".join(app["bundles"])
        lines.append(
            f"- {{id: {app['id']}, name: \"{app['name']}\", uem_app_id: \"{7000 + n}\", "
            f"platforms: [{platforms}], bundles: [{bundles}], licensed: {str(app['licensed']).lower()}, "
            f"cost_per_seat: {app['cost']}, risk: {app['risk']}}}")
    path.write_text("\n".join(lines) + "\n")


# ---- people ------------------------------------------------------------------------------------

def build_people(rng, n):
    people = []
    used_ids = set()

    def new_id():
        while True:
            first = rng.choice("abcdefghijklmnopqrstuvwxyz")
            last = "".join(rng.choice("abcdefghijklmnoprstuvwyz") for _ in range(rng.randint(4, 7)))
            uid = first + last
            if uid not in used_ids:
                used_ids.add(uid)
                return uid

    ceo = {"id": new_id(), "dept": "Executive", "title": "Chief Executive Officer", "location": "New York",
           "kind": "Full-time", "manager": "", "head": True}
    people.append(ceo)
    total_share = sum(d[0] for d in DEPARTMENTS.values())
    for dept, (share, _, office_weights, head_title, manager_title, titles) in DEPARTMENTS.items():
        size = max(4, round(n * share / total_share))
        weights = dict(DEFAULT_OFFICES)
        weights.update(office_weights)
        head = {"id": new_id(), "dept": dept, "title": head_title,
                "location": weighted(rng, weights), "kind": "Full-time", "manager": ceo["id"],
                "head": True}
        people.append(head)
        staff = []
        for _ in range(size - 1):
            kind = weighted(rng, {"Full-time": 85, "Part-time": 5, "Contractor": 7, "Intern": 3})
            title = weighted(rng, titles)
            if kind == "Intern":
                title = f"{dept} Intern" if dept != "Engineering" else "Software Engineering Intern"
            staff.append({"id": new_id(), "dept": dept, "title": title,
                          "location": weighted(rng, weights), "kind": kind, "head": False})
        # Teams of about eight per office, each with a manager from the office's staff.
        by_office = {}
        for s in staff:
            by_office.setdefault(s["location"], []).append(s)
        for office in sorted(by_office):
            members = by_office[office]
            for start in range(0, len(members), 8):
                team = members[start:start + 8]
                lead = next((m for m in team if m["kind"] == "Full-time"), None)
                if lead is None or len(team) < 3:
                    for m in team:
                        m["manager"] = head["id"]
                    continue
                lead["title"] = manager_title
                lead["manager"] = head["id"]
                for m in team:
                    if m is not lead:
                        m["manager"] = lead["id"]
        people.extend(staff)

    managers = {p["manager"] for p in people if p.get("manager")}
    projects = [f"proj-{w}" for w in TAIL_WORDS_A[:12]]
    for p in people:
        p["is_manager"] = p["id"] in managers
        groups = ["all-staff", p["dept"].lower(), OFFICES[p["location"]][1]]
        if p["kind"] == "Contractor":
            groups.append("contractors")
        if p["kind"] == "Intern":
            groups.append("interns")
        if p["is_manager"]:
            groups.append("people-managers")
        if p.get("head"):
            groups.append("leadership")
        if rng.random() < 0.02:
            groups.append("pilot")
        groups += sorted(rng.sample(projects, rng.choice([0, 0, 1, 1, 2])))
        p["groups"] = groups
        p["new_hire"] = rng.random() < 0.015
        # How much someone uses software in general, and how open they are to extra tools.
        p["activity"] = rng.lognormvariate(0, 0.5)
        p["curiosity"] = rng.betavariate(2, 5)
    return people


# ---- devices -----------------------------------------------------------------------------------

MODELS = {
    "iOS": [("iPhone 16", ["18.1", "18.0.1"]), ("iPhone 15", ["17.6.1", "18.1"]),
            ("iPhone 14", ["17.6.1", "18.1"]), ("iPad Pro 11-inch (M4)", ["18.1"])],
    "Android": [("Samsung Galaxy S24", ["14", "15"]), ("Google Pixel 8", ["15"]),
                ("Samsung Galaxy A54", ["14"])],
    "Windows": [("Dell Latitude 7440", ["10.0.22631", "10.0.26100"]),
                ("Lenovo ThinkPad T14 Gen 4", ["10.0.22631"]),
                ("HP EliteBook 840 G10", ["10.0.22631"])],
    "macOS": [("MacBook Pro 14-inch (M3 Pro)", ["15.1", "14.7"]),
              ("MacBook Air 13-inch (M2)", ["15.1", "15.0.1"])],
}


def devices_for(rng, p):
    if p["new_hire"]:
        return []
    mac_share = DEPARTMENTS.get(p["dept"], (0, 0.8))[1]
    laptop = "macOS" if rng.random() < mac_share else "Windows"
    plan = [(laptop, "Shared" if p["dept"] == "Support" and rng.random() < 0.1 else "Corporate")]
    if p["kind"] != "Contractor" or rng.random() < 0.3:
        plan.append(("iOS" if rng.random() < 0.6 else "Android",
                     "Employee" if rng.random() < 0.35 else "Corporate"))
    if p["dept"] in ("Design", "Sales") and rng.random() < 0.15:
        plan.append(("iOS", "Corporate"))
    out = []
    for platform, owner in plan:
        models = MODELS[platform]
        if platform == "iOS" and len(out) == 2:
            model, versions = models[-1]
        else:
            model, versions = rng.choice(models[:-1] if platform == "iOS" else models)
        out.append((platform, rng.choice(versions), model, owner, rng.random() > 0.03))
    return out


# ---- usage -------------------------------------------------------------------------------------

def usage_for(rng, p, catalog):
    """Which apps the person uses: a probability per app from their cohorts, then launches."""
    chance = {}

    def offer(app_id, probability):
        chance[app_id] = max(chance.get(app_id, 0.0), min(probability, 0.98))

    for app_id, _, adoption, _, _, _ in CORE:
        offer(app_id, adoption)
    dept_apps = DEPARTMENT_APPS.get(p["dept"], [])
    for i, (app_id, _) in enumerate(dept_apps):
        # Everyday tools for most of the department, the rest for some, more for the curious.
        offer(app_id, 0.88 if i < 4 else 0.3 + 0.5 * p["curiosity"])
    for app_id, _ in TITLE_APPS.get(p["title"], []):
        offer(app_id, 0.85)
    if p["is_manager"]:
        for app_id, _ in MANAGER_APPS:
            offer(app_id, 0.75)
    region = OFFICES[p["location"]][0]
    for app_id, _ in REGIONAL_APPS.get((p["dept"], region), []):
        offer(app_id, 0.85)
    if p["location"] in OFFICE_APPS:
        offer(OFFICE_APPS[p["location"]][0], 0.6)
    for app_id, _, rate in INTEREST_APPS:
        offer(app_id, rate * (0.5 + 2 * p["curiosity"]))

    used = set()
    for app_id in sorted(chance):
        if p["kind"] == "Contractor" and catalog[app_id]["licensed"] and catalog[app_id]["kind"] != "core" \
                and rng.random() < 0.6:
            continue
        if rng.random() < chance[app_id]:
            used.add(app_id)
    for first, second, _ in PAIRS:
        if rng.random() < (0.8 if first in used else 0.01):
            used.add(second)
    tail = [a for a in catalog if catalog[a]["kind"] == "tail"]
    for app_id in tail:
        if rng.random() < 0.012:
            used.add(app_id)

    rows = []
    for app_id in sorted(used):
        app = catalog[app_id]
        idle = app["licensed"] and rng.random() < 0.04
        if idle:
            launches = 0
            last = TODAY - timedelta(days=rng.randint(60, 150), hours=rng.randint(0, 10))
        else:
            weekly = app["weekly"]
            launches = max(1, round(weekly * 4.3 * p["activity"] * rng.lognormvariate(-0.1, 0.6)))
            # Frequent tools were used today or yesterday; rare ones up to a few weeks ago.
            days = min(29, int(rng.expovariate(max(0.05, math.log1p(launches) / 3))))
            last = TODAY - timedelta(days=days, hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
        rows.append((app_id, launches, last))
    return rows


def write(path, header, rows):
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    main()
