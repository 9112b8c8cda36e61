"""Write the Acme demo data sets in ``data/``: sample inputs and labelled history.

Run it from anywhere; it only uses the standard library and ``random.Random(42)``, so the output is the
same on every machine and is committed next to this script::

    python examples/demo/generate_data.py

Files written:

- ``leads.jsonl``        inbound leads, the input of the lead-qualification workflow
- ``tickets.jsonl``      support tickets, the input of the support-routing workflow
- ``briefs.jsonl``       campaign briefs, the input of the campaign-drafting workflow
- ``lead-history.csv``   past leads with their outcome (``won`` / ``lost``), for the offline lead scorer
- ``ticket-history.csv`` past tickets with the queue that resolved them, for the offline ticket router

The history text is built exactly like the ``offline.classifier.text`` templates in the workflows
(:func:`lead_text` and :func:`ticket_text`), so the classifiers see the same shape of text at run time.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def words(text: str, sep: str | None = None) -> list[str]:
    """The items of a word list written as prose: split on whitespace, or on ``sep``."""
    return [item.strip() for item in text.split(sep) if item.strip()]


# --------------------------------------------------------------------------------------------------
# Shared vocabulary
# --------------------------------------------------------------------------------------------------

FIRST_NAMES = words("""
Aisha Alejandro Amara Anders Anika Ben Camila Chen Chloe Daniel Deepa Diego Elena Emeka Emma Fatima
Felix Grace Hana Hiroshi Ines Isaac Jamal Julia Kai Karin Kwame Laura Liam Lucia Mateo Maya Mohammed
Nadia Noah Olga Omar Paula Rafael Rania Ravi Rosa Samir Sara Sean Sofia Tariq Thandiwe Tom Valentina
Wei Yara Yusuf Zoe Priyanka Lars Mariana Kenji Ngozi Henrik
""")
LAST_NAMES = words("""
Abbott Adeyemi Alvarez Andersen Bauer Becker Brennan Castillo Chowdhury Costa Dubois Eriksson
Fischer Garcia Gupta Hansen Hughes Ibrahim Jensen Kaur Kim Kowalczyk Larsen Li Lopez Mendes Moreau
Murphy Nakamura Novak Nwosu Okafor Olsen Patel Petrov Quinn Ramos Rossi Santos Schmidt Silva Singh
Suzuki Tanaka Torres Varga Walsh Wang Weber Yilmaz Zhang O'Connor Haddad Mwangi Lindqvist Fernandes
""")
COMPANY_HEADS = words(
    """
Northwind, Bluepeak, Harborview, Ironwood, Clearwater, Summit, Larkspur, Redline, Oakridge,
Silverline, Brightpath, Kestrel, Meridian, Granite, Cobalt, Juniper, Tidewater, Evergreen, Halcyon,
Pinecrest, Sable, Vantage, Westfield, Copperleaf, Riverbend, Starling, Fairhaven, Blackstone Creek,
Lumen, Arcadia, Driftwood, Orchard, Polaris, Quarry, Saltmarsh, Thornbury, Uplands, Wexford,
Yellowfin, Zenith
""",
    sep=",",
)
INDUSTRY_SUFFIXES = {
    "logistics": ["Logistics", "Freight", "Shipping", "Fulfillment"],
    "healthcare": ["Health", "Clinics", "Medical Group", "Care Partners"],
    "manufacturing": ["Manufacturing", "Components", "Industries", "Fabrication"],
    "financial-services": ["Capital", "Financial", "Insurance", "Credit Union"],
    "retail": ["Retail", "Outfitters", "Home Goods", "Markets"],
    "software": ["Software", "Labs", "Cloud", "Systems"],
    "education": ["Learning", "Academy", "College", "Education Trust"],
    "professional-services": ["Partners", "Consulting", "Advisory", "Accountants"],
    "media": ["Media", "Studios", "Publishing", "Broadcast"],
    "energy": ["Energy", "Power", "Utilities", "Renewables"],
}
INDUSTRIES = list(INDUSTRY_SUFFIXES)
REGIONS = ["na", "na", "na", "emea", "emea", "apac", "latam"]
PRODUCTS = ["Acme Flow", "Acme Insights", "Acme Sync", "Acme Assist"]
COMPETITORS = ["Zapier", "Workato", "Monday.com", "Smartsheet", "Tray.io", "Make", "Airtable", "an in-house tool"]
INTEGRATIONS = [
    "Salesforce",
    "NetSuite",
    "HubSpot",
    "SAP",
    "Snowflake",
    "Slack",
    "Microsoft Teams",
    "QuickBooks",
    "Zendesk",
    "Workday",
    "Google Workspace",
    "Okta",
]
PROCESSES = [
    "invoice approvals",
    "purchase orders",
    "customer onboarding",
    "month-end close",
    "shipment exceptions",
    "vendor onboarding",
    "order entry",
    "returns processing",
    "employee onboarding",
    "contract renewals",
    "claims intake",
    "weekly reporting",
]
TEAMS = [
    "finance",
    "operations",
    "customer success",
    "support",
    "procurement",
    "revenue operations",
    "logistics",
    "IT",
    "accounts payable",
    "HR",
]
MONTHS = words("""
January February March April May June July August September October November December
""")
PARTNERS = ["Brightside Consulting", "Keystone Advisory", "Northgate Partners", "Lattice Systems Integration"]
TOPICS = [
    "automating approvals",
    "AI in operations",
    "connecting NetSuite and Salesforce",
    "cutting month-end close time",
    "dashboards for the C-suite",
    "workflow governance",
]


def person(rng: random.Random) -> tuple[str, str]:
    """A full name and the local part of an email address."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "")
    return f"{first} {last}", local


def company(rng: random.Random, industry: str) -> tuple[str, str]:
    """A company name in the industry and its (reserved ``.example``) email domain."""
    name = f"{rng.choice(COMPANY_HEADS)} {rng.choice(INDUSTRY_SUFFIXES[industry])}"
    domain = name.lower().replace(" ", "-") + ".example"
    return name, domain


def fill(rng: random.Random, template: str) -> str:
    """Fill the ``{slot}`` placeholders of a sentence template with plausible values."""
    seats = rng.choice([15, 20, 25, 30, 40, 50, 60, 75, 80, 120, 150, 200, 250, 400])
    values = {
        "competitor": rng.choice(COMPETITORS),
        "integration": rng.choice(INTEGRATIONS),
        "integration2": rng.choice(INTEGRATIONS),
        "process": rng.choice(PROCESSES),
        "team": rng.choice(TEAMS),
        "month": rng.choice(MONTHS),
        "seats": seats,
        "small": rng.choice([2, 3, 4, 5]),
        "sites": rng.choice([3, 4, 6, 8, 12, 20]),
        "years": rng.choice([2, 3]),
        "plan": rng.choice(["Growth", "Enterprise"]),
        "product": rng.choice(PRODUCTS),
        "partner": rng.choice(PARTNERS),
        "topic": rng.choice(TOPICS),
        "timeframe": rng.choice(
            [
                "next week",
                "in two weeks",
                "by the end of this month",
                "before the end of the quarter",
                "on the first of next month",
            ]
        ),
        "hours": rng.choice([10, 15, 20, 30, 40]),
        "amount": rng.choice(["$49.00", "$129.00", "$480.00", "$1,250.00", "$2,400.00", "$3,900.00", "$89.00"]),
        "invoice": f"INV-{rng.randint(20240, 29999)}",
        "error": rng.choice(
            [
                "500 Internal Server Error",
                "504 Gateway Timeout",
                "ERR_SYNC_CONFLICT",
                "NullReferenceException",
                "'undefined is not a function'",
                "error code 4012",
            ]
        ),
        "feature": rng.choice(
            [
                "the CSV export",
                "the approval inbox",
                "the dashboard builder",
                "scheduled reports",
                "the mobile app",
                "the Salesforce connector",
                "bulk edit",
                "the audit log",
                "workflow versioning",
                "the PDF invoice view",
            ]
        ),
        "browser": rng.choice(["Chrome", "Edge", "Safari", "Firefox"]),
        "count": rng.choice([3, 5, 12, 40, 200, "all of our"]),
        "weekday": rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
        "version": f"5.{rng.randint(2, 9)}.{rng.randint(0, 4)}",
    }
    return template.format(**values)


# --------------------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------------------

LEAD_TITLES = {
    "strong": [
        "VP of Operations",
        "Head of Revenue Operations",
        "Chief Operating Officer",
        "CFO",
        "Director of Finance",
        "IT Director",
        "VP Customer Success",
        "Head of Business Systems",
        "Director of Procurement",
        "VP Supply Chain",
        "Controller",
    ],
    "medium": [
        "Operations Manager",
        "Business Systems Analyst",
        "Finance Manager",
        "Support Team Lead",
        "Senior Analyst",
        "Project Manager",
        "Marketing Operations Manager",
        "Office Manager",
        "Logistics Coordinator",
        "IT Manager",
    ],
    "weak": [
        "Student",
        "Intern",
        "Freelance Consultant",
        "Account Executive",
        "Recruiter",
        "Founder",
        "Sales Development Representative",
        "Research Assistant",
        "Consultant",
    ],
}
LEAD_SOURCES = {
    "strong": ["partner-referral", "website-form", "trade-show", "outbound", "webinar"],
    "medium": ["website-form", "webinar", "g2-review", "free-trial", "content-download"],
    "weak": ["content-download", "website-form", "g2-review", "free-trial", "webinar"],
}
LEAD_SENTENCES = {
    "strong": [
        "We need to replace {competitor} before our renewal in {month} and the budget is already approved.",
        "I own the budget for this and we want to sign before the end of the quarter.",
        "Could you send an order form for {seats} seats on the {plan} plan? Procurement is ready to move.",
        "Our security team asked for your SOC 2 report so we can finish vendor review this month.",
        "We have shortlisted Acme and one other vendor; the final decision is {timeframe}.",
        "Our {team} team of {seats} is drowning in manual {process}, and leadership signed off on "
        "fixing it this quarter.",
        "We would like a paid pilot starting {timeframe}, then a rollout across our {sites} sites.",
        "Please book a call with an account executive; our CFO wants pricing for a {years}-year agreement.",
        "{partner} recommended you; they implement {product} for several of our peers.",
        "SSO with Okta and a signed DPA are the last two items before we can sign.",
        "We must go live with {product} and the {integration} connector by {month}.",
        "The board approved the automation project and I am the executive sponsor.",
        "Legal has already reviewed your MSA, so we mainly need a quote for {seats} users.",
    ],
    "medium": [
        "We are exploring tools to automate {process} sometime next year.",
        "Could you share pricing for roughly {seats} users?",
        "I'd like to see a demo of {product} for my team.",
        "We currently use {competitor} but it is getting expensive; curious what you offer.",
        "Do you integrate with {integration}?",
        "I am putting together a comparison of options for my manager.",
        "Saw your webinar on {topic} and want to learn more.",
        "Is there a trial we can use to test {product} with a few colleagues?",
        "Our {team} team spends about {hours} hours a week on {process}; can Acme help with that?",
        "No timeline yet, but {process} is on our list of things to fix.",
        "We might need something like {product} once our {integration} migration is done.",
    ],
    "weak": [
        "Just browsing for now, there is no budget for this year.",
        "I'm a student writing a thesis on workflow automation; could you answer a few questions?",
        "Do you have a free plan? We are a team of {small}.",
        "Please remove me from your mailing list.",
        "We offer SEO and lead-generation services and would love to partner with you.",
        "Looking for a job in your customer success team; who should I contact?",
        "Downloaded the e-book, not looking to buy anything.",
        "Personal side project, just curious how it works.",
        "Our contract with {competitor} runs for another two years, so this is long-term research.",
        "Can you send me the whitepaper again? The link did not work.",
        "I sell outsourced bookkeeping and think your customers would be a great fit for us.",
        "Signed up to compare screenshots for a blog post about automation tools.",
    ],
}
NEUTRAL_LEAD_SENTENCES = [
    "We run {integration} and {integration2} today.",
    "Most of our {process} still happens in spreadsheets and email.",
    "Our {team} team would be the main users.",
    "We are based in several countries, so multi-currency matters.",
    "I found you through a colleague.",
    "",
    "",
]
EMPLOYEES = {
    "strong": [180, 240, 350, 420, 600, 850, 1200, 1800, 2500, 4000, 7500],
    "medium": [40, 60, 90, 120, 150, 220, 300, 450, 700],
    "weak": [1, 2, 3, 5, 8, 12, 20, 35],
}


def lead_text(lead: dict) -> str:
    """The text the offline lead scorer classifies; mirrors ``offline.classifier.text``."""
    return (
        f"{lead['title']} at a {lead['industry']} company with {lead['employees']} employees, "
        f"via {lead['source']}. {lead['message']}"
    )


def lead_message(rng: random.Random, tier: str) -> str:
    own = rng.sample(LEAD_SENTENCES[tier], k=2 if tier != "weak" else rng.choice([1, 2]))
    if tier == "medium" and rng.random() < 0.25:  # some medium leads show one strong signal
        own.append(rng.choice(LEAD_SENTENCES["strong"]))
    if tier == "strong" and rng.random() < 0.4:
        own.append(rng.choice(LEAD_SENTENCES["strong"]))
    neutral = rng.choice(NEUTRAL_LEAD_SENTENCES)
    sentences = [fill(rng, s) for s in own]
    if neutral:
        sentences.insert(rng.randrange(len(sentences) + 1), fill(rng, neutral))
    return " ".join(dict.fromkeys(sentences))


def make_lead(rng: random.Random, number: int, tier: str) -> dict:
    industry = rng.choice(INDUSTRIES)
    name, local = person(rng)
    company_name, domain = company(rng, industry)
    title_tier = tier if rng.random() < 0.85 else "medium"
    employees = rng.choice(EMPLOYEES[tier]) + rng.randint(0, 9)
    if tier == "strong":
        deal_size = rng.choice([12, 15, 18, 24, 30, 36, 45, 60, 75, 96, 120]) * 1000
    elif tier == "medium":
        deal_size = rng.choice([3, 4.8, 6, 7.2, 8.4, 9.6, 9.6, 12]) * 1000
    else:
        deal_size = rng.choice([0, 0, 600, 1200, 2400, 3600])
    return {
        "lead_id": f"L-{number:05d}",
        "name": name,
        "email": f"{local}@{domain}",
        "company": company_name,
        "title": rng.choice(LEAD_TITLES[title_tier]),
        "industry": industry,
        "employees": employees,
        "region": rng.choice(REGIONS),
        "source": rng.choice(LEAD_SOURCES[tier]),
        "deal_size": int(deal_size),
        "message": lead_message(rng, tier),
    }


def leads(rng: random.Random, count: int) -> list[dict]:
    tiers = rng.choices(["strong", "medium", "weak"], weights=[0.21, 0.41, 0.38], k=count)
    return [make_lead(rng, 10001 + i, tier) for i, tier in enumerate(tiers)]


def lead_history(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Past leads and whether the deal was won: strong intent mostly wins, with realistic exceptions."""
    won_rate = {"strong": 0.88, "medium": 0.3, "weak": 0.04}
    rows = []
    tiers = rng.choices(["strong", "medium", "weak"], weights=[0.35, 0.3, 0.35], k=count)
    for i, tier in enumerate(tiers):
        lead = make_lead(rng, 90001 + i, tier)
        label = "won" if rng.random() < won_rate[tier] else "lost"
        rows.append((lead_text(lead), label))
    return rows


# --------------------------------------------------------------------------------------------------
# Tickets
# --------------------------------------------------------------------------------------------------

# Each issue is a subject and two ways customers describe it; a ticket is one issue, sometimes with a
# second, unrelated question tacked on ("mixed"), which is where people and classifiers disagree.
ISSUES = {
    "billing": [
        (
            "Charged twice this month",
            [
                "We were charged {amount} twice on the same day for our subscription.",
                "Our card statement shows two identical charges of {amount} from Acme this month.",
            ],
        ),
        (
            "Invoice {invoice} has the wrong VAT number",
            [
                "Invoice {invoice} shows our old VAT number; our finance team cannot book it like this.",
                "Could you reissue {invoice} with the VAT number in our billing profile?",
            ],
        ),
        (
            "Refund for unused months",
            [
                "We downgraded to Starter in {month}; could you refund the unused months of Growth?",
                "We cancelled the extra seats but were billed for them anyway. Please refund the difference.",
            ],
        ),
        (
            "Update the credit card on file",
            [
                "Our bank replaced the company card; please update it before the next billing run.",
                "The card ending 4821 expires this month. How do I add the new one for billing?",
            ],
        ),
        (
            "Payment failed",
            [
                "The renewal payment failed but the card works everywhere else. Can you retry the charge?",
                "We got a 'payment failed' email for {invoice}; the bank says nothing was declined.",
            ],
        ),
        (
            "Why did our bill go up?",
            [
                "Our monthly invoice went from {amount} to almost double without any change on our side.",
                "The last invoice is much higher than usual. Is there a price increase we missed?",
            ],
        ),
        (
            "PO number missing from invoice",
            [
                "Accounts payable rejects invoices without our PO reference; please add it to {invoice}.",
                "Every invoice needs purchase order number PO-{seats}-{years} or it cannot be paid.",
            ],
        ),
        (
            "Sales tax on our invoice",
            [
                "We are tax exempt and attached the certificate; please remove the sales tax from {invoice}.",
                "Why is sales tax charged on {invoice}? We sent our exemption certificate last year.",
            ],
        ),
        (
            "Switch to annual invoicing",
            [
                "Can we move from monthly card payments to annual invoicing paid by bank transfer?",
                "Our finance team wants one invoice a year, paid by wire, instead of monthly card charges.",
            ],
        ),
        (
            "Copies of last year's invoices",
            [
                "Our auditors need copies of every invoice from last year. Is there a billing history export?",
                "Please send the receipts for all payments since January to accounts-payable.",
            ],
        ),
    ],
    "technical": [
        (
            "How do I set up SSO with Azure AD?",
            [
                "I'm configuring SAML SSO with Azure AD and I'm not sure which entity ID and reply URL to use.",
                "Where do I find the metadata URL for setting up single sign-on with Azure AD?",
            ],
        ),
        (
            "API rate limits for bulk import",
            [
                "What is the API rate limit when importing around 50,000 records in one go?",
                "We plan a bulk load through the REST API; how many requests per minute are allowed?",
            ],
        ),
        (
            "Mapping custom fields in the {integration} connector",
            [
                "How do I map a custom picklist field from {integration} to a field in our workflow?",
                "The {integration} connector only lists standard fields. How do we add our custom ones?",
            ],
        ),
        (
            "Webhook configuration question",
            [
                "Is there a way to trigger a workflow from a webhook with a signed payload?",
                "How do we verify the signature on the webhooks Acme sends to our endpoint?",
            ],
        ),
        (
            "Scheduling a nightly sync",
            [
                "We want to run the sync every night at 2am; what is the recommended setup?",
                "What's the best way to schedule the {integration} sync outside business hours?",
            ],
        ),
        (
            "OAuth scopes for the {integration} app",
            [
                "Which scopes does the OAuth app need to read {integration} opportunities?",
                "Our admin wants to grant the connector the minimum permissions. Which scopes are required?",
            ],
        ),
        (
            "Setting up approval rules for {team}",
            [
                "How should we structure approval rules so that {team} only sees their own requests?",
                "Can an approval rule route anything above $10,000 to a second approver?",
            ],
        ),
        (
            "Service account for the connector",
            [
                "Can the connector use a service account instead of a personal login?",
                "We don't want the integration tied to one employee's account. What do you recommend?",
            ],
        ),
        (
            "SCIM provisioning with Okta",
            [
                "Our IT team asks whether SCIM provisioning works with Okta groups.",
                "How do we set up automatic user provisioning from Okta?",
            ],
        ),
        (
            "How does workflow versioning work?",
            [
                "Could you explain what happens to running items when we edit a live workflow?",
                "If I publish a new version of a workflow, do in-flight requests use the old or new one?",
            ],
        ),
    ],
    "account": [
        (
            "Locked out of my account",
            [
                "My account has been locked after too many login attempts.",
                "I can't sign in; it says my account is locked. Can you unlock it?",
            ],
        ),
        (
            "Lost my phone, need to reset 2FA",
            [
                "I can't log in because the two-factor codes go to my old phone.",
                "I replaced my phone and lost my authenticator app. How do I reset two-factor authentication?",
            ],
        ),
        (
            "Transfer account ownership",
            [
                "Please transfer ownership of the workspace from our former COO to me.",
                "The account owner has left the company. How do we make someone else the owner?",
            ],
        ),
        (
            "Remove a user who left the company",
            [
                "An employee left last week; please remove her access and reassign her workflows.",
                "How do I deactivate {count} users who no longer work here without losing their history?",
            ],
        ),
        (
            "Password reset email never arrives",
            [
                "I never receive the password reset email; I checked the spam folder too.",
                "The 'forgot password' link says an email was sent but nothing arrives.",
            ],
        ),
        (
            "Add a new admin",
            [
                "We need to add a second administrator for our {team} workspace.",
                "How can I give my colleague admin rights? Only I can change settings right now.",
            ],
        ),
        (
            "GDPR data export request",
            [
                "Under GDPR I am requesting an export of all personal data you hold about me.",
                "Please send a copy of the personal data stored for my user account (GDPR article 15).",
            ],
        ),
        (
            "Please delete our workspace",
            [
                "Please delete our trial workspace and all the data in it.",
                "We are not continuing; how do we close the account and have our data deleted?",
            ],
        ),
        (
            "Change login email after domain change",
            [
                "We changed our company domain, so every user needs a new login email.",
                "How do I change the email address I use to sign in?",
            ],
        ),
        (
            "Merge two workspaces",
            [
                "Can you merge the two workspaces our teams created by accident?",
                "Our {team} team signed up separately; can their workspace be combined with ours?",
            ],
        ),
    ],
    "sales": [
        (
            "Adding {seats} more seats",
            [
                "We would like to add {seats} seats for the {team} team starting next month.",
                "The {team} team is joining; what would {seats} additional seats cost?",
            ],
        ),
        (
            "Quote for the Enterprise plan",
            [
                "Could you send a quote for moving to the Enterprise plan?",
                "Our CFO wants a comparison of Growth and Enterprise before we decide to upgrade.",
            ],
        ),
        (
            "Nonprofit discount?",
            [
                "Do you offer discounts for registered nonprofits?",
                "We are a charity; is there special pricing for nonprofit organisations?",
            ],
        ),
        (
            "Multi-year pricing",
            [
                "Our renewal is coming up and we want to discuss a {years}-year agreement.",
                "What discount would a {years}-year commitment get us?",
            ],
        ),
        (
            "Another business unit wants Acme",
            [
                "Another business unit wants to start using Acme; who can talk pricing with them?",
                "Our {team} division saw what we built and wants their own workspace. Who should they talk to?",
            ],
        ),
        (
            "Acme Insights add-on",
            [
                "We are interested in the Acme Insights add-on; what would it cost for {seats} users?",
                "Can we get a demo of Acme Insights for our leadership team?",
            ],
        ),
        (
            "Buying through AWS Marketplace",
            [
                "Can we buy through AWS Marketplace to use our committed spend?",
                "Procurement prefers buying via AWS Marketplace. Is Acme listed there?",
            ],
        ),
        (
            "Pilot for our EU subsidiary",
            [
                "We'd like to run a pilot for our subsidiary in Germany before rolling out.",
                "Our EU entity needs a separate contract; can we start with a pilot?",
            ],
        ),
        (
            "Volume pricing",
            [
                "Is there volume pricing above {seats} seats?",
                "We're planning to roll out to {seats} users company-wide. Can you share volume pricing?",
            ],
        ),
        (
            "Talk to someone about expanding",
            [
                "Please have an account manager call me about expanding our use of Acme.",
                "Who is our account manager? We'd like to discuss rolling Acme out to more teams.",
            ],
        ),
    ],
    "bug": [
        (
            "{feature} is broken",
            [
                "Since this morning {feature} fails with {error}.",
                "{feature} stopped working after yesterday's release; we get {error} every time.",
            ],
        ),
        (
            "Dashboard totals are wrong since the update",
            [
                "After the {version} update the dashboard totals no longer match our source data.",
                "Since version {version} the revenue widget shows totals that are off by exactly one day.",
            ],
        ),
        (
            "App crashes on {browser}",
            [
                "The app crashes in {browser} as soon as I open {feature}.",
                "{browser} freezes and then shows 'Aw, snap' whenever I load {feature}.",
            ],
        ),
        (
            "Sync stopped working overnight",
            [
                "The {integration} sync stopped overnight and no records have moved since.",
                "No data has synced from {integration} since 3am; the status page says everything is fine.",
            ],
        ),
        (
            "Duplicate records after import",
            [
                "Importing the same file created duplicate records for {count} customers.",
                "Re-running the import duplicated {count} contacts instead of updating them.",
            ],
        ),
        (
            "Approval emails not being sent",
            [
                "Approvers are not getting notification emails anymore.",
                "Since {weekday} nobody receives the 'waiting for your approval' emails.",
            ],
        ),
        (
            "{feature} shows a blank page",
            [
                "{feature} just shows a blank page; the browser console shows {error}.",
                "Opening {feature} gives an empty white screen for {count} users.",
            ],
        ),
        (
            "Timezone wrong in scheduled reports",
            [
                "Scheduled reports arrive with timestamps an hour off since the clocks changed.",
                "Our 8am report now arrives at 9am and all times inside it are shifted by an hour.",
            ],
        ),
        (
            "Workflow runs twice",
            [
                "Every workflow run is executing twice, so customers get two emails.",
                "Each submitted request now triggers two runs of the same workflow.",
            ],
        ),
        (
            "Attachments fail to upload",
            [
                "Uploading a PDF over 5 MB fails without an error message.",
                "Attachments get stuck at 99% and never finish uploading.",
            ],
        ),
    ],
}
TICKET_TAILS = [
    "Thanks in advance.",
    "This is urgent for us.",
    "Any help appreciated!",
    "Please advise.",
    "We're on the {plan} plan.",
    "Happy to jump on a call.",
    "Screenshot attached.",
    "This is blocking our {team} team.",
    "No rush, whenever you get a chance.",
    "",
    "Several people on our team are affected.",
    "It worked fine last {weekday}.",
    "",
    "",
]
OUTAGE_SENTENCES = [
    "Production is down for all users and we cannot process orders.",
    "This is an outage for our whole company.",
]
# Queues that people confuse in practice; a mixed ticket adds a question from a related queue.
RELATED = {
    "billing": ["sales", "account"],
    "technical": ["bug", "account"],
    "account": ["billing", "technical"],
    "sales": ["billing"],
    "bug": ["technical"],
}
QUEUES = list(ISSUES)
QUEUE_WEIGHTS = [0.22, 0.26, 0.18, 0.12, 0.22]  # billing, technical, account, sales, bug
CHANNELS = ["email", "email", "chat", "web-form", "web-form", "phone"]
PLANS = ["starter", "starter", "growth", "growth", "growth", "enterprise"]


def ticket_text(ticket: dict) -> str:
    """The text the offline ticket router classifies; mirrors ``offline.classifier.text``."""
    return f"{ticket['subject']}\n{ticket['body']}"


def make_ticket(rng: random.Random, number: int, queue: str, mixed: bool) -> dict:
    industry = rng.choice(INDUSTRIES)
    name, local = person(rng)
    customer, domain = company(rng, industry)
    subject, descriptions = rng.choice(ISSUES[queue])
    sentences = [fill(rng, rng.choice(descriptions))]
    if queue == "bug" and rng.random() < 0.1:
        sentences.append(rng.choice(OUTAGE_SENTENCES))
    if mixed:
        _, other = rng.choice(ISSUES[rng.choice(RELATED[queue])])
        sentences.append(
            rng.choice(["P.S. ", "One more thing. ", "Separate question: "]) + fill(rng, rng.choice(other))
        )
    tail = fill(rng, rng.choice(TICKET_TAILS))
    greeting = rng.choice(["Hi,", "Hello,", "Hi team,", "Hi Acme support,", ""])
    body = "\n\n".join(p for p in [greeting, " ".join(sentences) + (f" {tail}" if tail else ""), name.split()[0]] if p)
    return {
        "ticket_id": f"T-{number:05d}",
        "customer": customer,
        "email": f"{local}@{domain}",
        "subject": fill(rng, subject),
        "body": body,
        "channel": rng.choice(CHANNELS),
        "plan": rng.choice(PLANS),
    }


def tickets(rng: random.Random, count: int) -> list[dict]:
    queues = rng.choices(QUEUES, weights=QUEUE_WEIGHTS, k=count)
    return [make_ticket(rng, 20001 + i, q, rng.random() < 0.16) for i, q in enumerate(queues)]


def ticket_history(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Past tickets labelled with the queue that resolved them; mixed tickets were sometimes moved."""
    rows = []
    for i, queue in enumerate(rng.choices(QUEUES, weights=QUEUE_WEIGHTS, k=count)):
        mixed = rng.random() < 0.22
        ticket = make_ticket(rng, 80001 + i, queue, mixed)
        label = queue
        if mixed and rng.random() < 0.4:
            label = rng.choice(RELATED[queue])  # whoever picked it up kept it in their queue
        elif rng.random() < 0.06:
            label = rng.choice(QUEUES)  # plain mislabelling
        rows.append((ticket_text(ticket), label))
    return rows


# --------------------------------------------------------------------------------------------------
# Campaign briefs
# --------------------------------------------------------------------------------------------------

BRIEF_PRODUCTS = {
    "Acme Flow": [
        "builds approval workflows without code in an afternoon",
        "routes every request to the right approver automatically",
        "keeps a full audit trail for finance and compliance",
        "connects to NetSuite, Salesforce and Slack out of the box",
        "cuts purchase-order cycle time by 60% on average",
    ],
    "Acme Insights": [
        "turns operational data into live dashboards leadership actually reads",
        "replaces the Monday-morning spreadsheet with scheduled reports",
        "flags bottlenecks in approvals before they miss an SLA",
        "lets analysts build reports in minutes instead of days",
    ],
    "Acme Sync": [
        "keeps customer and order data consistent across 40+ systems",
        "syncs NetSuite and Salesforce in near real time",
        "retries failed syncs and alerts the owner before anyone notices",
        "replaces brittle scripts with monitored, versioned connectors",
    ],
    "Acme Assist": [
        "drafts replies to routine requests from your own knowledge base",
        "summarises long approval threads in one paragraph",
        "answers 'where is my request?' questions in Slack and Teams",
        "keeps a person in the loop for every customer-facing answer",
    ],
}
AUDIENCES = [
    "operations leaders at mid-market logistics companies",
    "finance teams still closing the books in spreadsheets",
    "IT admins at companies with 200 to 1,000 employees",
    "customer success managers at B2B SaaS companies",
    "procurement leads in manufacturing",
    "revenue operations teams running on Salesforce",
    "controllers preparing for their first audit",
    "support leaders scaling a team past 20 agents",
]
OFFERS = [
    "a 30-day free trial of the Growth plan",
    "free migration help from our solutions team",
    "20% off the first year for teams that sign this quarter",
    "a seat at our live product tour",
    "our 2025 Operations Benchmark report",
    "a 45-minute workflow audit with one of our experts",
    "the ROI calculator and a custom savings estimate",
]
TONES = ["friendly", "confident", "practical", "playful", "authoritative"]
BRIEF_CHANNELS = ["email", "linkedin", "blog", "webinar"]


def briefs(rng: random.Random, count: int) -> list[dict]:
    start = date(2025, 3, 3)
    out = []
    for i in range(count):
        product = PRODUCTS[i % len(PRODUCTS)]
        points = rng.sample(BRIEF_PRODUCTS[product], k=rng.choice([2, 3, 3, 4]))
        out.append(
            {
                "brief_id": f"B-{301 + i}",
                "product": product,
                "audience": rng.choice(AUDIENCES),
                "channel": BRIEF_CHANNELS[(i // len(PRODUCTS) + i) % len(BRIEF_CHANNELS)],
                "offer": rng.choice(OFFERS),
                "tone": rng.choice(TONES),
                "key_points": points,
                "launch_date": (start + timedelta(days=7 * (i // 2) + rng.randint(0, 4))).isoformat(),
            }
        )
    return out


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def datasets(seed: int = 42) -> dict[str, list]:
    """Every data set by file name. The order of the calls is part of the output: they share one generator."""
    rng = random.Random(seed)
    return {
        "leads.jsonl": leads(rng, 240),
        "tickets.jsonl": tickets(rng, 360),
        "briefs.jsonl": briefs(rng, 28),
        "lead-history.csv": lead_history(rng, 720),
        "ticket-history.csv": ticket_history(rng, 1000),
    }


def serialise(name: str, records: list) -> str:
    """The text of a data file: JSON lines for ``.jsonl``, a ``text,label`` CSV for ``.csv``."""
    if name.endswith(".jsonl"):
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(records)
    return out.getvalue()


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, records in datasets().items():
        (DATA / name).write_text(serialise(name, records), encoding="utf-8", newline="\n")
        print(f"wrote {len(records):>5} records to {DATA / name}")


if __name__ == "__main__":
    main()
