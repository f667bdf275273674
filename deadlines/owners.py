"""Owners: who answers for a contract's deadlines.

A contract names one owner (`owner: Dana Legal <dana@example.org>`) and may hand single rules
to someone else (`owners: {support-response: support@example.org}`). A deadline's owner is its
rule's override, else the contract's owner, else nobody. An owner is an e-mail address with an
optional name; the address, in lower case, is the owner's slug: it names the owner's feed
(`feeds/owners/<slug>.ics`, token scope `owner:<slug>`) and groups their alerts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DeadlinesError

# An address that is also a safe file name and token scope: no quoting, no spaces, no slash.
ADDRESS_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$")
SLUG_RE = re.compile(r"^[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+$")


@dataclass(frozen=True)
class Owner:
    """Who answers for a contract's deadlines: an e-mail address and, maybe, a name."""

    address: str  # as written
    name: str = ""

    @property
    def slug(self) -> str:
        return self.address.lower()

    def __str__(self) -> str:
        if not self.name:
            return self.address
        name = f'"{self.name}"' if any(c in self.name for c in ',;:()[]\\') else self.name
        return f"{name} <{self.address}>"


_ADDRESS = r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
_OWNER = (rf'^(?:"?(?P<name>[^<>@"]+?)"?\s*<(?P<address>{_ADDRESS})>'
          rf"|<?(?P<bare>{_ADDRESS})>?)$")  # compiled on first use, not by every command


def parse_owner(text: str) -> Owner:
    """`Dana Legal <dana@example.org>`, `"Legal, Team" <legal@example.org>` or
    `dana@example.org`; a DeadlinesError otherwise."""
    text = " ".join(str(text).split())
    match = re.match(_OWNER, text)
    if match is None or not text.isprintable():
        raise DeadlinesError(f"{text!r} is not a name and an e-mail address such as "
                             "'Dana Legal <dana@example.org>'")
    if match["bare"]:
        return Owner(match["bare"])
    return Owner(match["address"], match["name"].strip())


@dataclass(frozen=True)
class Owners:
    """A contract's owner and its per-rule overrides."""

    default: Owner | None = None
    by_rule: tuple[tuple[str, Owner], ...] = ()

    def for_rule(self, rule_id: str) -> Owner | None:
        for rule, owner in self.by_rule:
            if rule == rule_id:
                return owner
        return self.default

    @property
    def everyone(self) -> list[Owner]:
        people = ([self.default] if self.default else []) + [o for _, o in self.by_rule]
        return list({o.slug: o for o in people}.values())


NOBODY = Owners()  # a contract that names no owner
