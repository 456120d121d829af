"""What the dev-mode demo shop (`/demo`) needs: the demo merchant's key and its webhook secret.

`sluice dev` fills it and hands it to the API app; the shop and its webhook receiver live in api/demo/.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoConfig:
    """The demo merchant as the shop sees it; `webhook_secret` is set once the endpoint exists."""

    secret_key: str
    api_url: str
    merchant_name: str = "Sluice Demo Shop"
    network: str = "local"
    webhook_secret: str | None = None
    #: JSON lines of verified deliveries and the shop's orders, so a restart keeps them.
    state_dir: Path | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for line in _lines(self.state_dir / "deliveries.jsonl"):
            self.deliveries.append(line)
        for line in _lines(self.state_dir / "orders.jsonl"):
            self.orders[line["id"]] = line

    def record_delivery(self, delivery: dict[str, Any]) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            self._append("deliveries.jsonl", delivery)

    def save_order(self, order: dict[str, Any]) -> None:
        with self._lock:
            self.orders[order["id"]] = order
            self._append("orders.jsonl", order)

    def delivered(self, intent_id: str, event_type: str) -> dict[str, Any] | None:
        """The first verified delivery of `event_type` about the intent, if one arrived."""
        for delivery in self.deliveries:
            if delivery["type"] == event_type and delivery.get("object_id") == intent_id:
                return delivery
        return None

    def _append(self, name: str, record: dict[str, Any]) -> None:
        if self.state_dir is not None:
            with (self.state_dir / name).open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue  # a line cut short by a crash
    return out
