"""The errors of the AWS wiring's commands (`make package`, `make deploy`, `make lock`); each
command's ``main`` reports them as one line and exits with their code."""

from __future__ import annotations

from alleycat.errors import AlleycatError


class PackageError(AlleycatError):
    """An artifact cannot be built: the Lambda lock is missing or stale, pip or uv failed, a
    handler imports something that is not packaged, or the layer is over Lambda's size limit."""


class DeployError(AlleycatError):
    """The stack cannot be deployed: the artifacts are not built, or the SAM CLI failed."""
