"""Where bot participants' credentials live, so every worker can reach them: the
:class:`TokenStore` protocol, in memory or in DynamoDB."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Protocol, runtime_checkable

import attrs

from .._redact import redact_secret
from .._validation import require_str
from ..exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["DEFAULT_CHAT_LIFETIME", "BotRecord", "DynamoDBTokenStore", "InMemoryTokenStore", "TokenStore", "utcnow"]

DEFAULT_CHAT_LIFETIME = timedelta(hours=25)
"""How long a record is kept when the service gives no participant token expiry (a chat
lasts 25 hours by default, ``ChatDurationInMinutes``)."""


@attrs.frozen(kw_only=True)
class BotRecord:
    """What a store keeps about one chat's bot participant.

    A record without ``participant_token`` is a claim: a worker is creating the participant
    and holds the claim until ``claimed_until``.
    """

    contact_id: str
    expires_at: datetime
    """When the record may be forgotten (the chat's end at the latest); the store's TTL."""
    participant_id: Optional[str] = None
    participant_token: Optional[str] = attrs.field(default=None, repr=redact_secret)
    connection_token: Optional[str] = attrs.field(default=None, repr=redact_secret)
    connection_expires_at: Optional[datetime] = None
    owner: Optional[str] = None
    claimed_until: Optional[datetime] = None

    @property
    def complete(self) -> bool:
        """True once the bot participant exists (the record holds its token)."""
        return self.participant_token is not None


@runtime_checkable
class TokenStore(Protocol):
    """Where bot participants' credentials live, shared by every worker.

    Implementations must make :meth:`claim` and :meth:`save` atomic (a conditional write):
    that is what makes two workers joining one chat at once create a single bot.
    """

    def get(self, contact_id: str) -> Optional[BotRecord]:
        """The record of a chat, complete or a claim, or None."""
        ...

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        """Create a claim for ``owner`` unless a record exists; take over an expired claim.

        Returns True when ``owner`` now holds the claim.
        """
        ...

    def save(self, record: BotRecord, owner: str) -> bool:
        """Store a complete record if ``owner`` still holds the claim (or it is gone).

        Returns False when another worker's record won.
        """
        ...

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        """Replace the shared connection token after a renewal."""
        ...

    def delete(self, contact_id: str) -> None:
        """Forget a chat (when it ends)."""
        ...


def utcnow() -> datetime:
    """The clock records are judged by (aware UTC)."""
    return datetime.now(timezone.utc)


class InMemoryTokenStore:
    """A :class:`TokenStore` in this process (tests, a single worker); thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, BotRecord] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryTokenStore(chats={len(self._records)})"

    def get(self, contact_id: str) -> Optional[BotRecord]:
        with self._lock:
            record = self._records.get(contact_id)
            if record is not None and record.expires_at <= utcnow():
                del self._records[contact_id]
                return None
            return record

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        with self._lock:
            current = self._records.get(contact_id)
            now = utcnow()
            if current is not None and current.expires_at > now:
                if current.complete or (current.claimed_until is not None and current.claimed_until > now):
                    return current.owner == owner and not current.complete
            self._records[contact_id] = BotRecord(
                contact_id=contact_id, expires_at=expires_at, owner=owner, claimed_until=until
            )
            return True

    def save(self, record: BotRecord, owner: str) -> bool:
        with self._lock:
            current = self._records.get(record.contact_id)
            if current is not None and (current.complete or current.owner != owner):
                return False
            self._records[record.contact_id] = record
            return True

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        with self._lock:
            current = self._records.get(contact_id)
            if current is not None and current.complete:
                self._records[contact_id] = attrs.evolve(
                    current, connection_token=connection_token, connection_expires_at=expires_at
                )

    def delete(self, contact_id: str) -> None:
        with self._lock:
            self._records.pop(contact_id, None)


def _epoch(moment: Optional[datetime]) -> Optional[int]:
    return None if moment is None else int(moment.timestamp())


def _from_epoch(value: Any) -> Optional[datetime]:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), timezone.utc)


class DynamoDBTokenStore:
    """A :class:`TokenStore` in a DynamoDB table, shared by workers on any machine.

    Args:
        table: a boto3 ``Table`` resource (``boto3.resource("dynamodb").Table(name)``) whose
            partition key is the string attribute ``key`` (see :meth:`create_table`).
        key: the partition key's name (a string attribute); read from the table when omitted.
        ttl_attribute: the number attribute holding the record's expiry in epoch seconds;
            when omitted, the table's TTL attribute if TTL is on, else ``expires_at``. Enable
            DynamoDB's TTL on it so records expire with their chat.

    Claims and saves are conditional writes, so two workers racing to join one chat create
    one bot participant. Tokens are written as plain string attributes: DynamoDB encrypts
    tables at rest; restrict the table with IAM as you would any credential store. They never
    appear in a repr or log line of this library.
    """

    def __init__(self, table: Any, *, key: Optional[str] = None, ttl_attribute: Optional[str] = None) -> None:
        if not hasattr(table, "put_item") or not hasattr(table, "get_item"):
            raise InvalidArgumentTypeError("table must be a boto3 DynamoDB Table resource")
        self.table = table
        self._key = None if key is None else require_str("key", key)
        self._ttl_attribute = None if ttl_attribute is None else require_str("ttl_attribute", ttl_attribute)
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        """The table's partition key: as given, or read from the table on first use."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    schema = self.table.key_schema  # DescribeTable, once
                    hashes = [k["AttributeName"] for k in schema if k.get("KeyType") == "HASH"]
                    if len(schema) != 1 or not hashes:
                        raise InvalidArgumentError(
                            "the table must have a partition key only (no sort key); pass key= to name it"
                        )
                    self._key = str(hashes[0])
        return self._key

    @property
    def ttl_attribute(self) -> str:
        """The TTL attribute: as given, the table's TTL attribute if it has one, else ``expires_at``."""
        if self._ttl_attribute is None:
            with self._lock:
                if self._ttl_attribute is None:
                    described = self.table.meta.client.describe_time_to_live(TableName=self.table.name)
                    description = described.get("TimeToLiveDescription", {})
                    enabled = description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                    name = description.get("AttributeName")
                    self._ttl_attribute = str(name) if enabled and name else "expires_at"
        return self._ttl_attribute

    def __repr__(self) -> str:
        return f"DynamoDBTokenStore(table={getattr(self.table, 'name', '?')!r})"

    @classmethod
    def create_table(
        cls, dynamodb: Any, name: str, *, key: str = "contact_id", ttl_attribute: str = "expires_at"
    ) -> DynamoDBTokenStore:
        """Create an on-demand table with the key and TTL this store uses, and wait for it."""
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table.wait_until_exists()
        dynamodb.meta.client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
        return cls(table, key=key, ttl_attribute=ttl_attribute)

    # -- mapping ---------------------------------------------------------------------------------

    def _to_item(self, record: BotRecord) -> dict[str, Any]:
        item: dict[str, Any] = {self.key: record.contact_id, self.ttl_attribute: _epoch(record.expires_at)}
        optional = {
            "participant_id": record.participant_id,
            "participant_token": record.participant_token,
            "connection_token": record.connection_token,
            "connection_expires_at": _epoch(record.connection_expires_at),
            "owner": record.owner,
            "claimed_until": _epoch(record.claimed_until),
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        return item

    def _from_item(self, item: Mapping[str, Any]) -> BotRecord:
        return BotRecord(
            contact_id=str(item[self.key]),
            expires_at=_from_epoch(item.get(self.ttl_attribute)) or (utcnow() + DEFAULT_CHAT_LIFETIME),
            participant_id=item.get("participant_id"),
            participant_token=item.get("participant_token"),
            connection_token=item.get("connection_token"),
            connection_expires_at=_from_epoch(item.get("connection_expires_at")),
            owner=item.get("owner"),
            claimed_until=_from_epoch(item.get("claimed_until")),
        )

    @staticmethod
    def _condition_failed(exc: Exception) -> bool:
        response = getattr(exc, "response", None)
        return isinstance(response, Mapping) and response.get("Error", {}).get("Code") == (
            "ConditionalCheckFailedException"
        )

    # -- the protocol ----------------------------------------------------------------------------

    def get(self, contact_id: str) -> Optional[BotRecord]:
        response = self.table.get_item(Key={self.key: contact_id}, ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        record = self._from_item(item)
        # DynamoDB deletes expired items within days, not at once: treat them as gone.
        return record if record.expires_at > utcnow() else None

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        record = BotRecord(contact_id=contact_id, expires_at=expires_at, owner=owner, claimed_until=until)
        return self._put_if(
            record,
            "attribute_not_exists(#k) OR #ttl <= :now OR "
            "(attribute_not_exists(participant_token) AND claimed_until <= :now)",
            {"#k": self.key, "#ttl": self.ttl_attribute},
            {":now": int(time.time())},
        )

    def save(self, record: BotRecord, owner: str) -> bool:
        return self._put_if(
            record,
            "attribute_not_exists(#k) OR (attribute_not_exists(participant_token) AND #owner = :owner)",
            {"#k": self.key, "#owner": "owner"},
            {":owner": owner},
        )

    def _put_if(self, record: BotRecord, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        """Write the record if ``condition`` holds; False when another worker's write won."""
        try:
            self.table.put_item(
                Item=self._to_item(record),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if self._condition_failed(exc):
                return False
            raise
        return True

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        names = {"#k": self.key}
        values: dict[str, Any] = {":token": connection_token}
        expression = "SET connection_token = :token"
        if expires_at is not None:
            expression += ", connection_expires_at = :expiry"
            values[":expiry"] = _epoch(expires_at)
        try:
            self.table.update_item(
                Key={self.key: contact_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#k) AND attribute_exists(participant_token)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if not self._condition_failed(exc):
                raise

    def delete(self, contact_id: str) -> None:
        self.table.delete_item(Key={self.key: contact_id})
