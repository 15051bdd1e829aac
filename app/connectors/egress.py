"""The outgoing-address policy: which hosts Laurel may connect to on an admin's behalf.

One policy for every connection an admin can point Laurel at (webhooks, Slack, OAuth2 token URLs,
Moodle, S3 endpoints, SQL sources): every address a host resolves to must be public, unless the
operator sets ``OUTGOING_ALLOW_PRIVATE`` (development and tests only; ``WEBHOOKS_ALLOW_PRIVATE`` is
its deprecated alias). It is checked when a setting is saved and again when connecting, and a
refused address is refused *before* any packet is sent, so "refused" and "closed port" look the
same to whoever probes the network through us.

No Flask here: callers pass ``allow_private`` (app.services.integrations.settings.allow_private()
reads the setting). app.connectors.http builds the pinned HTTP session on top of this module.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

SETTING = "OUTGOING_ALLOW_PRIVATE"
DEPRECATED_SETTING = "WEBHOOKS_ALLOW_PRIVATE"
# What every refusal says, wherever it surfaces (form field, API error, test button, integration log):
# the setting that allows it, so an admin on an intranet knows what to ask the operator for.
ALLOW_HINT = (f"Private/intranet address refused: set {SETTING}=true in Laurel's environment and restart "
              "to allow it (trusted networks only).")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's is_global still calls global but that reach internal or translated networks.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "192.88.99.0/24", "100.64.0.0/10")
)


def private_allowed(config: Mapping[str, object]) -> bool:
    """The operator's switch from a Flask config: OUTGOING_ALLOW_PRIVATE, or the deprecated alias
    (app/config.py folds the environment variables together; code and tests may still set either)."""
    return bool(config.get(SETTING) or config.get(DEPRECATED_SETTING))


class AddressRefused(Exception):
    """The host resolves to an address the policy refuses (message names the setting)."""


class HostUnresolvable(Exception):
    """The host name does not resolve (or has no IPv4/IPv6 address)."""


def is_public_address(ip: IPAddress) -> bool:
    """True if ``ip`` is a globally routable unicast address we may connect to."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is loopback in disguise: judge the embedded IPv4 address.
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every IPv4/IPv6 address ``host`` (a name or an IP literal) resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise HostUnresolvable(f"cannot resolve host {host!r}: {exc}") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            # sockaddr[0] may carry an IPv6 zone ("fe80::1%eth0"); the zone is not part of the address.
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    if not addresses:
        raise HostUnresolvable(f"host {host!r} has no IPv4/IPv6 address")
    return addresses


def refusal(host: str, addresses: list[IPAddress]) -> str | None:
    """The admin-facing reason ``host`` is refused, or None when every address is public."""
    blocked = [str(a) for a in addresses if not is_public_address(a)]
    if not blocked:
        return None
    # The way out comes first: callers may shorten the text (Moodle keeps 200 characters).
    return (
        f"{ALLOW_HINT} {host!r} resolves to non-public address(es) {', '.join(blocked)}."
    )


def check_host(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses; raise AddressRefused if any is not public.

    ``0.0.0.0``, ``[::1]``, ``::ffff:127.0.0.1``, ``169.254.169.254``, numeric spellings such as
    ``2130706433`` and names whose DNS answer is loopback or private all land here.
    """
    addresses = resolve(host, port)
    reason = None if allow_private else refusal(host, addresses)
    if reason:
        raise AddressRefused(reason)
    return addresses
