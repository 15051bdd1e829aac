"""Role-aware navigation: each blueprint adds its entries; the layout shows what the role may open."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[str, ...]
    prefix: str = ""  # endpoints starting with this mark the item active
    order: int = 50


_items: list[NavItem] = []


def add(endpoint: str, label: str, roles: tuple[str, ...], prefix: str = "", order: int = 50) -> None:
    item = NavItem(endpoint, label, roles, prefix, order)
    if item not in _items:
        _items.append(item)


def items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return sorted((i for i in _items if user.role in i.roles), key=lambda i: i.order)


ALL = ("admin", "staff", "learner")
STAFF = ("admin", "staff")
ADMIN = ("admin",)

add("dashboard.index", "Dashboard", ALL, order=0)
add("admin.users", "People", ADMIN, prefix="admin.user", order=80)
add("admin.mail_log", "Mail log", ADMIN, prefix="admin.mail", order=90)
add("admin.audit", "Audit log", ADMIN, prefix="admin.audit", order=95)


def init_app(app) -> None:
    app.context_processor(lambda: {"nav_items": items_for})
