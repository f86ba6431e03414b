"""Cart pricing."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cart:
    items: dict[str, tuple[int, float]] = field(default_factory=dict)  # sku -> (qty, unit price)

    def add(self, sku: str, qty: int, price: float) -> None:
        if qty <= 0:
            raise ValueError("quantity must be positive")
        old_qty, _ = self.items.get(sku, (0, price))
        self.items[sku] = (old_qty + qty, price)

    def subtotal(self) -> float:
        return round(sum(q * p for q, p in self.items.values()), 2)

    def total(self, coupon: str | None = None) -> float:
        subtotal = self.subtotal()
        if coupon == "TENOFF" and subtotal >= 50:
            subtotal -= 10
        if subtotal > 100:
            return round(subtotal * 0.95, 2)  # bulk discount
        return subtotal
