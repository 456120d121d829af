"""Sluice's exceptions: one root, each subclass combined with the builtin it stands for."""

from __future__ import annotations


class SluiceError(Exception):
    """Root of every error Sluice raises on purpose."""

    code: str = "sluice_error"


class SluiceValueError(SluiceError, ValueError):
    """Raised when an argument or configuration value is invalid."""

    code = "invalid_value"


class CompilerError(SluiceError, RuntimeError):
    """Raised when the Solidity compiler is missing or reports errors."""

    code = "compiler_error"


class ArtifactError(SluiceError, LookupError):
    """Raised when a contract artifact is missing or stale; run `sluice contracts build`."""

    code = "artifact_error"


class NetworkError(SluiceError, LookupError):
    """Raised when a network is unknown or its RPC endpoint is not configured or unreachable."""

    code = "network_error"


class KeyConfigError(SluiceError, ValueError):
    """Raised when no usable deployer or operator key is configured."""

    code = "key_config_error"


class DeploymentError(SluiceError, RuntimeError):
    """Raised when a deployment would overwrite a different one, or did not land as expected."""

    code = "deployment_error"
