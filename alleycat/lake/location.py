"""A lake as a value: its URI and where its ``s3://`` URIs live on this machine.

The edge builds it once from ``Settings`` (``Lake(settings.lake_uri, settings.local_s3_root)``;
the local wiring's own stack: ``settings.s3_root``) and passes it down, so nothing below reads the
environment to find the lake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow.fs as pafs

from alleycat.lake import uris
from alleycat.lake.layout import LakeLayout
from alleycat.support.files import atomic_write


@dataclass(frozen=True)
class Lake:
    """The lake at ``uri`` (s3://bucket[/prefix]); ``local_root`` set: ``s3://b/p`` is ``<local_root>/b/p``."""

    uri: str
    local_root: Path | None = None

    @property
    def layout(self) -> LakeLayout:
        return LakeLayout(self.uri)

    def resolve(self, uri: str) -> str:
        """Where engines open ``uri``: a local path on the local stack, else the URI itself."""
        return uris.resolve(uri, self.local_root)

    def filesystem(self, uri: str) -> tuple[pafs.FileSystem, str]:
        """A pyarrow filesystem and the path within it for ``uri``."""
        return uris.filesystem(uri, self.local_root)

    def write(self, uri: str, write: Callable[[BinaryIO], object]) -> str:
        """Write the object at ``uri`` through ``write(file)`` so readers see all of it or none:
        locally a hidden temporary sibling renamed into place (``alleycat.support.files``), on S3
        one PUT (an object becomes visible only when complete). Returns ``uri``."""
        fs, path = self.filesystem(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            atomic_write(Path(path), write)
        else:
            with fs.open_output_stream(path, compression=None) as out:
                write(out)
        return uri
