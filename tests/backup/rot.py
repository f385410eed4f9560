"""Damage a stored chunk the way a disk or a bucket can: flip its bytes, or lose its pack."""

from __future__ import annotations

from crewchief.backup.packs import pack_key
from crewchief.backup.repository import Repository


def rot_chunk(repo: Repository, digest: str) -> None:
    """Flip the first byte of the chunk inside its pack (the pack keeps its name)."""
    loc = repo.locate(digest)
    data = bytearray(repo.storage.get(pack_key(loc.pack)))
    data[loc.offset] ^= 0xFF
    repo.storage.put(pack_key(loc.pack), bytes(data))


def lose_pack_of(repo: Repository, digest: str) -> None:
    repo.storage.delete(pack_key(repo.locate(digest).pack))
