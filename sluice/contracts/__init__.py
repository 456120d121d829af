"""Compiling the Solidity sources and loading their artifacts."""

from sluice.contracts.artifacts import Artifact, load_artifact

__all__ = ["Artifact", "load_artifact"]
