"""Access tokens for subscribed feeds: one secret per feed scope, kept in a token file.

The file stores only a SHA-256 hash of each token, so a leaked token file does not leak the
URLs; `create` prints the token once. Lookups hash the presented token and compare it with every
stored hash in constant time.

`create` and `revoke` read, change and replace the file under its lock (`safeio`), so twenty
concurrent creates keep twenty tokens and a revoke racing a create is never undone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import DeadlinesError
from .feednames import AGGREGATES, CONTRACT_PREFIX, OWNER_PREFIX, SCOPE_PATTERN
from .safeio import atomic_write, lock_beside, locked, read_limited

TOKEN_BYTES = 24  # 192 bits, more than the 128 the subscription URLs need
SCOPE_RE = re.compile(rf"^(?:{SCOPE_PATTERN})$")
DEFAULT_FILE = ".deadlines-tokens.json"
MAX_BYTES = 16 * 1024 * 1024  # far above any real token file; a bigger one is damage


@dataclass
class TokenRecord:
    id: str  # short public id, for `list` and `revoke`
    hash: str
    scope: str
    label: str
    created: str
    revoked: bool = False


def _token_records(raw: Any) -> list[TokenRecord]:
    if not isinstance(raw, dict) or not isinstance(raw.get("tokens"), list):
        raise ValueError('expected {"tokens": [...]}')
    records = []
    for index, item in enumerate(raw["tokens"]):
        if not isinstance(item, dict):
            raise ValueError(f"token {index} is not an object")
        texts = {}
        for key in ("id", "hash", "scope", "label", "created"):
            if not isinstance(item.get(key), str):
                raise ValueError(f"token {index}: {key} is not text")
            texts[key] = item[key]
        revoked = item.get("revoked", False)
        if not isinstance(revoked, bool):
            raise ValueError(f"token {index}: revoked is not true or false")
        if not re.fullmatch(r"[0-9a-f]{64}", texts["hash"]):
            raise ValueError(f"token {index}: hash is not a SHA-256 digest")
        if not SCOPE_RE.match(texts["scope"]):
            raise ValueError(f"token {index}: {texts['scope']!r} is not a feed scope")
        records.append(TokenRecord(**texts, revoked=revoked))
    return records


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class TokenStore:
    def __init__(self, path: Path, records: list[TokenRecord]) -> None:
        self.path = path
        self.records = records

    @classmethod
    def load(cls, path: str | Path) -> TokenStore:
        p = Path(path)
        if not p.exists() and not p.is_symlink():
            return cls(p, [])
        # read without trusting it: a regular file of a sane size (a FIFO must not hang a
        # server thread), the shape `save` writes, every field of the expected type
        data = read_limited(p, MAX_BYTES, "token file")
        try:
            return cls(p, _token_records(json.loads(data.decode("utf-8"))))
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8 and shape errors alike
            raise DeadlinesError(f"not a token file: {str(exc)[:200]}", file=str(p)) from None

    def save(self) -> None:
        data = {"tokens": [asdict(r) for r in self.records]}
        atomic_write(self.path, (json.dumps(data, indent=1) + "\n").encode(), mode=0o600)

    def create(self, scope: str, label: str = "") -> tuple[str, TokenRecord]:
        """A new token for `scope`, added to the file as it is now (read under its lock)."""
        if scope.startswith(OWNER_PREFIX):
            scope = scope.lower()  # an owner's slug is their address in lower case
        if not SCOPE_RE.match(scope):
            raise DeadlinesError(f"{scope!r} is not a feed scope; expected "
                                 f"{', '.join(AGGREGATES)}, {CONTRACT_PREFIX}<contract-id>, "
                                 f"{OWNER_PREFIX}<owner's address> or <aggregate>:<agreement> "
                                 "(an agreement's part of an aggregate)")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest = _digest(token)
        record = TokenRecord(id=digest[:10], hash=digest, scope=scope, label=label,
                             created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        with locked(lock_beside(self.path)):
            current = TokenStore.load(self.path)
            current.records.append(record)
            current.save()
        self.records = current.records
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        """Mark a token revoked in the file as it is now (read under its lock)."""
        with locked(lock_beside(self.path)):
            current = TokenStore.load(self.path)
            for record in current.records:
                if record.id == token_id:
                    record.revoked = True
                    current.save()
                    self.records = current.records
                    return record
        raise DeadlinesError(f"no token with id {token_id!r}", file=str(self.path))

    def lookup(self, token: str) -> TokenRecord | None:
        """The live record for a presented token; every stored hash is compared."""
        digest = _digest(token)
        found: TokenRecord | None = None
        for record in self.records:
            if hmac.compare_digest(record.hash, digest) and not record.revoked:
                found = record
        return found
