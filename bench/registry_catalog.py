"""The generated catalogue of ``bench.registry``: data sources of 28 topics in 7 domains, each topic
with two questions whose right answers are its sources.

Topics of one domain share words ("customer orders", "customer churn"), so a question must be told
apart by what it asks, not by one common word. ``keyword`` questions use words of the descriptions;
``paraphrase`` questions say the same thing in other words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# domain, topic, description, columns, keyword question, paraphrase question
TOPICS = [
    ("sales", "orders", "customer orders with order lines, quantities and totals",
     "order_id customer_id quantity total_amount", "customer orders totals",
     "what did buyers purchase and how much did they spend"),
    ("sales", "refunds", "refunds and returned items with the reason given", "refund_id order_id reason refund_amount",
     "refunds returned items", "money given back for goods sent back"),
    ("sales", "pricing", "product price list with discounts", "sku list_price discount_pct",
     "product price discounts", "how much each item costs after markdowns"),
    ("sales", "invoices", "invoices issued to clients with due dates and payment status",
     "invoice_id client_id due_date paid", "invoices payment status",
     "bills sent to clients and whether they were paid"),
    ("customers", "churn", "customer churn: accounts that cancelled their subscription",
     "account_id cancelled_on plan churn_reason", "customer churn cancelled subscription",
     "which subscribers left us and why"),
    ("customers", "support", "support tickets opened by customers with priority and resolution time",
     "ticket_id priority opened_at resolved_at", "support tickets resolution time",
     "help desk requests and how long they took to close"),
    ("customers", "surveys", "customer satisfaction survey answers and NPS scores", "respondent_id nps_score comment",
     "satisfaction survey nps", "how happy clients say they are"),
    ("customers", "signups", "new user signups by marketing channel", "user_id signup_date channel",
     "user signups channel", "people who registered and where they came from"),
    ("operations", "inventory", "warehouse inventory stock levels per SKU", "sku warehouse on_hand reorder_point",
     "warehouse inventory stock", "how many units are on the shelves"),
    ("operations", "shipments", "shipments and deliveries with carrier and tracking number",
     "shipment_id carrier shipped_at delivered_at", "shipments carrier tracking",
     "parcels sent out and when they arrived"),
    ("operations", "suppliers", "supplier contracts, lead times and ratings", "supplier_id lead_time_days rating",
     "supplier lead times", "vendors we buy from and how quickly they deliver"),
    ("operations", "fleet", "delivery vehicle fleet fuel use and mileage", "vehicle_id fuel_litres km_driven",
     "vehicle fuel mileage", "how much petrol the trucks burn per kilometre"),
    ("finance", "payroll", "employee payroll: salaries, bonuses and tax withholding",
     "employee_id salary bonus tax_withheld", "payroll salaries bonuses", "what staff are paid each month"),
    ("finance", "expenses", "employee expense claims for travel and meals", "claim_id category amount approved",
     "expense claims travel", "reimbursements for trips and dinners"),
    ("finance", "budget", "department budgets versus actual spending", "department budget actual variance",
     "department budget actual spending", "did teams overspend their planned allocation"),
    ("finance", "fx", "foreign exchange rates by currency pair", "pair rate quoted_at",
     "exchange rates currency", "conversion between dollars, euros and yen"),
    ("hr", "headcount", "employee headcount by department and office location", "department location employees",
     "headcount department", "how many people work in each team"),
    ("hr", "hiring", "job applications and candidate interview stages", "candidate_id role stage",
     "job applications candidates interview", "recruiting pipeline of applicants"),
    ("hr", "attendance", "employee attendance, leave and sick days", "employee_id date leave_type",
     "attendance leave sick days", "who was absent or on holiday"),
    ("hr", "training", "training courses completed by staff with their scores", "employee_id course score",
     "training courses completed", "learning programmes people finished"),
    ("web", "pageviews", "website page views and sessions by URL", "url sessions pageviews bounce_rate",
     "website page views sessions", "traffic to the pages of our site"),
    ("web", "errors", "application error logs with stack traces and severity", "service severity message occurred_at",
     "application error logs severity", "crashes and exceptions in our services"),
    ("web", "latency", "API request latency percentiles per endpoint", "endpoint p50_ms p99_ms",
     "api latency endpoint", "how slow each service call responds"),
    ("web", "experiments", "A/B test experiment variants and conversion", "experiment variant conversions visitors",
     "experiment variants conversion", "split tests comparing two versions of a page"),
    ("environment", "weather", "daily weather observations: temperature and rainfall per city",
     "city temp_c rain_mm day", "weather temperature rainfall", "how warm or wet it was in each town"),
    ("environment", "air", "air quality sensor readings of PM2.5 and ozone", "sensor_id pm25 ozone measured_at",
     "air quality ozone", "pollution levels measured outdoors"),
    ("environment", "energy", "building electricity consumption in kWh per meter", "meter_id kwh read_at",
     "electricity consumption kwh", "how much power the offices use"),
    ("environment", "trials", "clinical trial patients, doses and adverse events", "patient_id dose_mg adverse_event",
     "clinical trial patients adverse events", "side effects seen in the drug study"),
]  # fmt: skip
QUALIFIERS = ["2021", "2022", "2023", "2024", "eu", "us", "apac", "daily", "monthly", "weekly", "raw", "clean"]
FILLERS = [
    "Exported from the data warehouse.",
    "Updated nightly by the pipeline.",
    "Maintained by the analytics team.",
    "Snapshot taken at the end of the period.",
    "Deduplicated and validated.",
    "One row per record.",
]
GENERIC = ["id", "created_at", "updated_at", "source_system", "region"]


@dataclass(frozen=True)
class Entry:
    """One generated source: its name, topic, description, columns and tags."""

    name: str
    topic: str
    description: str
    columns: list[str]
    tags: list[str]


def catalogue(size: int, seed: int = 0) -> list[Entry]:
    """``size`` sources spread evenly over the topics."""
    rng = random.Random(seed)
    entries = []
    for index in range(size):
        domain, topic, description, columns, _, _ = TOPICS[index % len(TOPICS)]
        qualifier = rng.choice(QUALIFIERS)
        name = f"{domain}/{topic}_{qualifier}_{index}.csv"
        text = f"{description.capitalize()} ({qualifier}). {rng.choice(FILLERS)}"
        cols = columns.split() + rng.sample(GENERIC, 2)
        entries.append(Entry(name, topic, text, cols, [domain, rng.choice(["raw", "curated"])]))
    return entries


def questions() -> list[tuple[str, str, str]]:
    """``(style, question, topic)`` for every topic: a keyword and a paraphrase question."""
    out = []
    for _, topic, _, _, keyword, paraphrase in TOPICS:
        out.append(("keyword", keyword, topic))
        out.append(("paraphrase", paraphrase, topic))
    return out
