"""Which rails exist and which a network offers: the one place that maps an intent to its rail."""

from __future__ import annotations

from collections.abc import Iterable

from sluice.errors import InvalidRequestError
from sluice.rails.base import Rail


class Rails:
    """The rails of this process by name (built once, with the services they need)."""

    def __init__(self, rails: Iterable[Rail] = ()) -> None:
        self._rails: dict[str, Rail] = {}
        for rail in rails:
            self.add(rail)

    def add(self, rail: Rail) -> None:
        self._rails[rail.name] = rail

    def get(self, name: str) -> Rail:
        try:
            return self._rails[name]
        except KeyError:
            raise InvalidRequestError(
                f"unknown rail {name!r}; known: {', '.join(self._rails)}", param="rail", code="unknown_rail"
            ) from None

    def for_network(self, rails: tuple[str, ...], wanted: str | None = None) -> Rail:
        """The rail `wanted` among a network's `rails` (its first by default)."""
        name = wanted or (rails[0] if rails else None)
        if name is None or name not in rails:
            raise InvalidRequestError(
                f"the network offers no rail {name!r}; it offers: {', '.join(rails) or 'none'}",
                param="rail",
                code="rail_unavailable",
            )
        return self.get(name)

    async def aclose(self) -> None:
        """Closes what the rails hold open (RPC clients), at shutdown."""
        for rail in self._rails.values():
            close = getattr(rail, "aclose", None)
            if close is not None:
                await close()

    def check_address(self, family: str, address: str, param: str) -> str:
        """`address` checked (and made canonical) by a rail of chain `family`: the one rule for
        addresses of that family, whoever asks (payers, splits, merchants' payout addresses)."""
        for rail in self._rails.values():
            if rail.family == family:
                return rail.validate_address(address, param)
        raise InvalidRequestError(
            f"unknown chain family {family!r}; known: {', '.join(self.families)}",
            param=param,
            code="unknown_family",
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._rails)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rail.family for rail in self._rails.values()))
