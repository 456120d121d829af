"""Rails: the ways to pay on each chain family, behind one interface (sluice.rails.base)."""
