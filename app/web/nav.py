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


# The menu's shape lives here, in one place: these entries fold into dropdowns; the rest stay top-level.
GROUPS: dict[str, tuple[str, ...]] = {
    "Catalog": ("lifecycle.courses", "lifecycle.certifications", "lifecycle.enrollments",
                "lifecycle.evidence_queue", "lifecycle.import_csv"),
    "Admin": ("admin.users", "admin.departments_page", "integrations.index", "payments.index",
              "documents.templates",
              "admin.mail_log", "messaging.email_previews", "admin.audit", "credentials.admin",
              "identity.sign_in_admin", "identity.directories", "privacy.admin_page", "admin.settings"),
}


@dataclass(frozen=True)
class NavGroup:
    label: str
    items: tuple[NavItem, ...]
    order: int

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(i.prefix or i.endpoint for i in self.items)


def items_for(user) -> list[NavItem | NavGroup]:
    """The menu for this user's role: top-level items and dropdown groups, in order."""
    if not user.is_authenticated:
        return []
    visible = sorted((i for i in _items if user.role in i.roles), key=lambda i: i.order)
    grouped = {e for endpoints in GROUPS.values() for e in endpoints}
    menu: list[NavItem | NavGroup] = [i for i in visible if i.endpoint not in grouped]
    for label, endpoints in GROUPS.items():
        members = tuple(i for e in endpoints for i in visible if i.endpoint == e)
        if members:
            menu.append(NavGroup(label, members, min(i.order for i in members)))
    return sorted(menu, key=lambda entry: entry.order)


ALL = ("admin", "staff", "manager", "learner")
STAFF = ("admin", "staff", "manager")
MANAGERS = ("admin", "manager")  # who changes enrollments and certificates (managers: of their people)
ADMIN = ("admin",)

add("dashboard.index", "Dashboard", ALL, order=0)
add("admin.users", "People", ADMIN, prefix="admin.user", order=80)
add("admin.mail_log", "Mail log", ADMIN, prefix="admin.mail", order=90)
add("admin.audit", "Audit log", ADMIN, prefix="admin.audit", order=95)


def init_app(app) -> None:
    app.context_processor(lambda: {"nav_items": items_for})
