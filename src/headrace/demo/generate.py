"""Deterministic generation of the demo's e-commerce files: same seed, same bytes.

Everything derives from one ``random.Random(seed)`` consumed in a fixed order and from a fixed
reference date, never from the clock, so the files can be checked by hash. Money is kept in
integer cents and formatted by hand so no float rounding reaches the files.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from headrace.demo.planted import (
    CSV_BREAKERS,
    JSON_BREAKERS,
    PLANTED_BAD_ROWS,
    BadRow,
    json_line,
)
from headrace.demo.tables import CUSTOMERS, DATA_DIR, ORDER_LINES, ORDERS, PRODUCTS

REFERENCE_DATE = datetime(2026, 1, 1)
CUSTOMER_COUNT = 5_000
PRODUCT_COUNT = 500
ORDER_COUNT = 30_000
HISTORY_SECONDS = 3 * 365 * 86_400

_FIRST_NAMES = (
    "Ada", "Ahmed", "Aiko", "Alejandro", "Amara", "Anna", "Björn", "Carlos", "Chen", "Chloé",
    "Daniel", "Elena", "Emma", "Fatima", "François", "Grace", "Hannah", "Hiroshi", "Ines",
    "Isabel", "Jan", "João", "Julia", "Kwame", "Lars", "Leila", "Liam", "Lucía", "Maria",
    "Mateo", "Mei", "Mohammed", "Nadia", "Noah", "Olga", "Priya", "Raj", "Sofia", "Zoë",
)  # fmt: skip
_LAST_NAMES = (
    "Andersson", "Bakker", "Brown", "Chen", "Costa", "Dubois", "Fischer", "García", "Gonzalez",
    "Hansen", "Ivanova", "Jansen", "Kim", "Kowalski", "Lee", "Martin", "Müller", "Nakamura",
    "Nguyen", "Novak", "O'Brien", "Ólafsdóttir", "Patel", "Rossi", "Santos", "Schmidt", "Silva",
    "Singh", "Smith", "Suzuki", "Tanaka", "Wang", "Williams", "Yilmaz",
)  # fmt: skip
_COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "AU", "JP", "BR", "IN", "PL")
_COUNTRY_WEIGHTS = (30, 12, 10, 8, 6, 4, 5, 5, 5, 3, 4, 3, 3, 2)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_CATEGORIES = {
    "books": ("Novel", "Cookbook", "Atlas", "Field Guide", "Notebook"),
    "garden": ("Trowel", "Hose", "Planter", "Seed Kit", "Pruner"),
    "home": ("Lamp", "Rug", "Mug", "Blanket", "Clock"),
    "kitchen": ("Kettle", "Knife", "Skillet", "Grater", "Teapot"),
    "outdoor": ("Tent", "Lantern", "Backpack", "Hammock", "Flask"),
    "sports": ("Ball", "Racket", "Helmet", "Yoga Mat", "Jump Rope"),
    "tech": ("Charger", "Cable", "Speaker", "Headphones", "Keyboard"),
    "toys": ("Puzzle", "Kite", "Robot", "Blocks", "Yo-yo"),
}
_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Mini", "Pro", "Rustic", "Smart", "Travel")
_STATUSES = ("placed", "shipped", "delivered", "returned")
_STATUS_WEIGHTS = (5, 10, 80, 5)
_LINES_PER_ORDER = (1, 2, 3, 4)
_LINES_WEIGHTS = (35, 30, 20, 15)
_QUANTITIES = (1, 2, 3, 5)
_QUANTITY_WEIGHTS = (70, 18, 8, 4)
# Quoting-heavy notes on purpose: commas and double quotes exercise the CSV reader.
_NOTES = (
    "Leave at the door, please",
    'Gift wrap: "Happy birthday!"',
    "Call before delivery",
    "Fragile",
    "Ring twice; the dog is friendly",
)


@dataclass(frozen=True)
class GeneratedData:
    """What :func:`generate_data` wrote: one path and record count per file."""

    directory: Path
    files: dict[str, Path]
    records: dict[str, int]  # data records per file, planted bad rows included
    planted: tuple[BadRow, ...]


@dataclass(frozen=True)
class _Customer:
    customer_id: int
    name: str
    email: str
    country: str
    signed_up_at: datetime


@dataclass(frozen=True)
class _Product:
    product_id: int
    sku: str
    name: str
    category: str
    price_cents: int
    active: bool


def generate_data(directory: Path, *, seed: int = 7) -> GeneratedData:
    """Write the four demo data files under ``directory/data``, overwriting old ones."""
    rng = random.Random(seed)
    data_dir = directory / DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)

    customers = _customers(rng)
    products = _products(rng)
    orders, lines, lifetime_cents = _orders_and_lines(rng, customers, products)

    files = {t.file: data_dir / t.file for t in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES)}
    customer_rows = [
        [
            str(c.customer_id),
            c.name,
            c.email,
            c.country,
            _timestamp(c.signed_up_at),
            _money(lifetime_cents.get(c.customer_id, 0)),
        ]
        for c in customers
    ]
    _write_csv(files[CUSTOMERS.file], CUSTOMERS.column_names, customer_rows, CUSTOMERS.file)
    _write_parquet(files[PRODUCTS.file], products)
    _write_csv(files[ORDERS.file], ORDERS.column_names, orders, ORDERS.file)
    _write_ndjson(files[ORDER_LINES.file], lines, ORDER_LINES.file)
    return GeneratedData(
        directory=data_dir,
        files=files,
        records={
            CUSTOMERS.file: len(customer_rows),
            PRODUCTS.file: len(products),
            ORDERS.file: len(orders),
            ORDER_LINES.file: len(lines),
        },
        planted=PLANTED_BAD_ROWS,
    )


def _customers(rng: random.Random) -> list[_Customer]:
    customers = []
    for customer_id in range(1, CUSTOMER_COUNT + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = _ascii(f"{first}.{last}").lower().replace("'", "")
        customers.append(
            _Customer(
                customer_id=customer_id,
                name=f"{first} {last}",
                email=f"{local}{customer_id}@{rng.choice(_EMAIL_DOMAINS)}",
                country=rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0],
                signed_up_at=REFERENCE_DATE - timedelta(seconds=rng.randrange(HISTORY_SECONDS)),
            )
        )
    return customers


def _products(rng: random.Random) -> list[_Product]:
    categories = sorted(_CATEGORIES)
    products = []
    for product_id in range(1, PRODUCT_COUNT + 1):
        category = rng.choice(categories)
        products.append(
            _Product(
                product_id=product_id,
                sku=f"{category[:3].upper()}-{product_id:05d}",
                name=f"{rng.choice(_ADJECTIVES)} {rng.choice(_CATEGORIES[category])}",
                category=category,
                price_cents=rng.randrange(199, 50_000),
                active=rng.random() < 0.9,
            )
        )
    return products


def _orders_and_lines(
    rng: random.Random, customers: list[_Customer], products: list[_Product]
) -> tuple[list[list[str]], list[dict[str, int | float]], dict[int, int]]:
    """Orders as CSV rows, their lines as JSON records, and each customer's lifetime cents."""
    placed: list[tuple[datetime, int]] = []
    for _ in range(ORDER_COUNT):
        customer = rng.choice(customers)
        span = int((REFERENCE_DATE - customer.signed_up_at).total_seconds())
        ordered_at = customer.signed_up_at + timedelta(seconds=rng.randrange(max(span, 1)))
        placed.append((ordered_at, customer.customer_id))
    # Order ids grow with time, as they would in the shop's database.
    placed.sort()

    orders: list[list[str]] = []
    lines: list[dict[str, int | float]] = []
    lifetime_cents: dict[int, int] = {}
    for order_id, (ordered_at, customer_id) in enumerate(placed, start=1):
        status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
        shipped_at = ""
        if status != "placed":
            delay = timedelta(seconds=rng.randrange(2 * 3600, 5 * 86_400))
            shipped_at = _timestamp(ordered_at + delay)
        amount_cents = 0
        for line_no in range(1, rng.choices(_LINES_PER_ORDER, _LINES_WEIGHTS)[0] + 1):
            product = rng.choice(products)
            quantity = rng.choices(_QUANTITIES, _QUANTITY_WEIGHTS)[0]
            if rng.random() < 0.002:
                # Well-typed but wrong: a data-quality check has to catch these, not the loader.
                quantity = -quantity
            amount_cents += quantity * product.price_cents
            lines.append(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": product.product_id,
                    "quantity": quantity,
                    "unit_price": product.price_cents / 100,
                }
            )
        note = rng.choice(_NOTES) if rng.random() < 0.15 else ""
        if status != "returned":
            lifetime_cents[customer_id] = lifetime_cents.get(customer_id, 0) + amount_cents
        orders.append(
            [
                str(order_id),
                str(customer_id),
                status,
                _timestamp(ordered_at),
                shipped_at,
                _money(amount_cents),
                note,
            ]
        )
    return orders, lines, lifetime_cents


def _write_csv(path: Path, header: list[str], rows: list[list[str]], name: str) -> None:
    breakers = CSV_BREAKERS.get(name, {})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for line, row in enumerate(rows, start=2):
            planted = breakers.get(line)
            writer.writerow(planted[1](row) if planted else row)


def _write_ndjson(path: Path, records: list[dict[str, int | float]], name: str) -> None:
    breakers = JSON_BREAKERS.get(name, {})
    with path.open("w", encoding="utf-8", newline="") as handle:
        for line, record in enumerate(records, start=1):
            planted = breakers.get(line)
            text = planted[1](dict(record)) if planted else json_line(record)
            handle.write(text + "\n")


def _write_parquet(path: Path, products: list[_Product]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            pa.field("product_id", pa.int64(), nullable=False),
            pa.field("sku", pa.string(), nullable=False),
            pa.field("name", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("price", pa.decimal128(10, 2), nullable=False),
            pa.field("active", pa.bool_(), nullable=False),
        ]
    )
    table = pa.table(
        {
            "product_id": [p.product_id for p in products],
            "sku": [p.sku for p in products],
            "name": [p.name for p in products],
            "category": [p.category for p in products],
            "price": [Decimal(p.price_cents).scaleb(-2) for p in products],
            "active": [p.active for p in products],
        },
        schema=schema,
    )
    pq.write_table(table, path)


def _timestamp(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="seconds")


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
