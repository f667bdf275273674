"""Access tokens for subscribed feeds: one secret per feed scope, kept in a token file.

The file stores only a SHA-256 hash of each token, so a leaked token file does not leak the
URLs; `create` prints the token once. Lookups hash the presented token and compare it with every
stored hash in constant time.
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

from .errors import DeadlinesError
from .state import atomic_write

TOKEN_BYTES = 24  # 192 bits, more than the 128 the subscription URLs need
SCOPE_RE = re.compile(r"^(all|ours|theirs|contract:[a-z0-9][a-z0-9._-]{0,99})$")
DEFAULT_FILE = ".deadlines-tokens.json"


@dataclass
class TokenRecord:
    id: str  # short public id, for `list` and `revoke`
    hash: str
    scope: str
    label: str
    created: str
    revoked: bool = False

    @property
    def feed_id(self) -> str:
        """The feed this token opens: all, ours, theirs or a contract id."""
        return self.scope.split(":", 1)[1] if self.scope.startswith("contract:") else self.scope


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class TokenStore:
    def __init__(self, path: Path, records: list[TokenRecord]) -> None:
        self.path = path
        self.records = records

    @classmethod
    def load(cls, path: str | Path) -> TokenStore:
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
            records = [TokenRecord(**r) for r in raw.get("tokens", [])]
        except FileNotFoundError:
            return cls(p, [])
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise DeadlinesError(f"not a token file: {exc}", file=str(p)) from None
        return cls(p, records)

    def save(self) -> None:
        data = {"tokens": [asdict(r) for r in self.records]}
        atomic_write(self.path, (json.dumps(data, indent=1) + "\n").encode())
        self.path.chmod(0o600)

    def create(self, scope: str, label: str = "") -> tuple[str, TokenRecord]:
        if not SCOPE_RE.match(scope):
            raise DeadlinesError(f"{scope!r} is not a feed scope; expected all, ours, theirs or "
                                 "contract:<contract-id>")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest = _digest(token)
        record = TokenRecord(id=digest[:10], hash=digest, scope=scope, label=label,
                             created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.records.append(record)
        self.save()
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        for record in self.records:
            if record.id == token_id:
                record.revoked = True
                self.save()
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
