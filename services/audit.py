"""Audit: replay an enterprise's history as it stood at any time, and verify that nothing
was altered (hash chain, gap-free sequence, every signature)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from orjson import loads as orjson_loads

from tongxiu.events.envelope import GENESIS_HASH, Envelope, stored_signing_bytes
from tongxiu.events.fastjson import canonical_bytes, canonical_str, dumps_plain, has_float, loads_plain
from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered
from tongxiu.events.signing import verify
from tongxiu.events.upcast import upcast_envelope
from tongxiu.projections.fold import Rules, fold_enterprise, fold_registry, fold_replayed
from tongxiu.projections.views import DepartmentInfo, EnterpriseState, RegistryState
from tongxiu.services.gcpause import AUDIT_YOUNG, thresholds_at_least
from tongxiu.services.ports import EventLog, StoredEvent, iter_stream
from tongxiu.services.problems import Problem, problem


@dataclass(frozen=True)
class Replay:
    enterprise: str
    as_of: datetime | None
    known_at: datetime | None
    events: list[Envelope]
    state: EnterpriseState


def replay(
    log: EventLog, rules: Rules, code: str, *, as_of: datetime | None = None, known_at: datetime | None = None
) -> Replay:
    """The history and the views as they stood: ``as_of`` keeps what had happened by then
    (occurred-at), ``known_at`` what the ledger had recorded by then (recorded-at)."""
    state = EnterpriseState.empty(code)
    if as_of is None and known_at is None:  # every event is kept: each page folded as it is read
        kept: list[Envelope] = []
        for page in iter_envelope_pages(log, code):
            fold_replayed(state, page, rules)
            kept += page
    else:
        kept = list(iter_replay(log, rules, code, state, as_of=as_of, known_at=known_at))
    return Replay(enterprise=code, as_of=as_of, known_at=known_at, events=kept, state=state)


def is_kept(env: Envelope, as_of: datetime | None, known_at: datetime | None) -> bool:
    """Whether ``env`` belongs to the state as of / known at those times."""
    return (as_of is None or env.occurred_at <= as_of) and (known_at is None or env.recorded_at <= known_at)


def iter_replay(
    log: EventLog, rules: Rules, code: str, state: EnterpriseState, *, as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> Iterator[Envelope]:
    """Stream the kept events of ``code`` in seq order, folding each into ``state`` before it
    is yielded: memory is the state plus one page of the log, however long the history."""
    if as_of is None and known_at is None:  # every event is kept
        for env in iter_envelopes(log, code):
            fold_enterprise(state, env, rules, tally=False)
            yield env
        return
    for env in iter_envelopes(log, code):
        if not is_kept(env, as_of, known_at):
            continue
        fold_enterprise(state, env, rules, tally=False)
        yield env


def iter_envelopes(log: EventLog, stream: str, *, from_seq: int = 1, batch: int = 1000) -> Iterator[Envelope]:
    """A stream's envelopes in seq order, a page at a time, each decoded once from its stored
    JSON by the cheapest correct path (:meth:`Envelope.from_json`), read as the stored bytes
    where the log gives them (``read_stream_stored``: SQLite; pydantic-core parses UTF-8, so a
    ``str`` would be decoded from UTF-8 and encoded back), else as text. A page is decoded
    before its first envelope is yielded (decoding and folding alternating event by event
    measured ~5 % more CPU in ``replay``)."""
    for page in iter_envelope_pages(log, stream, from_seq=from_seq, batch=batch):
        yield from page


def iter_envelope_pages(log: EventLog, stream: str, *, from_seq: int = 1, batch: int = 1000) -> Iterator[list[Envelope]]:
    """:func:`iter_envelopes` a page (≤ ``batch`` envelopes, none empty) at a time."""
    read = log.read_stream_stored
    from_json = Envelope.from_json
    while True:
        chunk = read(stream, from_seq=from_seq, limit=batch)
        page = [from_json(raw) for raw in chunk]
        if page:
            yield page
        if not page or len(chunk) < batch:
            return
        from_seq = page[-1].seq + 1


class ReadEvent(NamedTuple):
    """An event as the audit reads it, once: its stored JSON (the stored UTF-8 bytes where the
    log gives them, else text), that JSON parsed (hashes and signatures are checked on it) and
    the envelope decoded from it (what replay folds)."""

    raw: str | bytes
    body: dict[str, Any]
    envelope: Envelope
    plain: bool = False
    """Whether ``body`` is a plain JSON value (:func:`tongxiu.events.fastjson.is_plain`: no
    float anywhere), so its canonical bytes may be encoded by orjson."""


def parse_stored(raw: str) -> Any:
    """``json.loads(raw)`` (the same value or the same error), by the cheapest exact path
    (:func:`tongxiu.events.fastjson.loads_plain`)."""
    return loads_plain(raw)[0]


def iter_read(log: EventLog, stream: str, *, from_seq: int = 1, batch: int = 1000) -> Iterator[ReadEvent]:
    """A stream a page at a time, each event parsed once and decoded from that parse."""
    for page in read_pages(log, stream, from_seq=from_seq, batch=batch):
        yield from page


def read_pages(log: EventLog, stream: str, *, from_seq: int = 1, batch: int = 1000) -> Iterator[list[ReadEvent]]:
    """:func:`iter_read` a page (≤ ``batch`` events) at a time, read as the stored bytes where
    the log gives them (``read_stream_stored``; :func:`loads_plain` parses UTF-8 bytes with
    orjson as it parses text). A page is parsed and decoded before it is checked (parsing,
    validation, hashing and Ed25519 alternating event by event measured ~5-10 % more CPU in
    ``verify_streams``: each evicts the others' caches)."""
    read = log.read_stream_stored
    validate = Envelope.__pydantic_validator__.validate_python
    new = tuple.__new__
    while True:
        chunk = read(stream, from_seq=from_seq, limit=batch)
        page: list[ReadEvent] = []
        append = page.append
        for raw in chunk:  # loads_plain, Envelope.from_body and ReadEvent(...), each without its Python frame
            try:
                body = orjson_loads(raw)
            except (ValueError, RecursionError):  # not JSON orjson reads: json decides (value or error)
                body, plain = loads_plain(raw)
            else:
                plain = type(body) is dict and not has_float(body.values())
                if not plain:
                    body, plain = loads_plain(raw)
            append(new(ReadEvent, (raw, body, validate(upcast_envelope(body)), plain)))
        if page:
            yield page
        if not page or len(chunk) < batch:
            return
        from_seq = page[-1].envelope.seq + 1


@dataclass(frozen=True)
class HistoryPage:
    events: list[Envelope]
    total: int
    """How many events the history holds (kept ones, with ``as_of``/``known_at``)."""
    next_after: int | None
    """The seq to pass as ``after`` for the next page (None: this is the last page)."""
    state: EnterpriseState | None
    """The views folded from every kept event (only when a filter or ``fold`` asked for it)."""


def history_page(
    log: EventLog, rules: Rules, code: str, *, as_of: datetime | None = None, known_at: datetime | None = None,
    limit: int = 100, offset: int = 0, after: int | None = None, fold: bool = False,
) -> HistoryPage:
    """One page of an enterprise's history: ``limit`` events after seq ``after`` (a cursor)
    or after the first ``offset`` kept events. Without a time filter and without ``fold`` it
    reads only that page from the log; otherwise it streams the history once (bounded
    memory), folding the views and counting the kept events."""
    if as_of is None and known_at is None and not fold:
        start = (after if after is not None else offset) + 1
        page = [s.envelope for s in log.read_stream(code, from_seq=start, limit=limit)]
        total = log.last_seq(code)
        nxt = page[-1].seq if page and page[-1].seq < total else None
        return HistoryPage(events=page, total=total, next_after=nxt, state=None)
    state = EnterpriseState.empty(code)
    events: list[Envelope] = []
    total = 0
    more = False
    for env in iter_replay(log, rules, code, state, as_of=as_of, known_at=known_at):
        index = total
        total += 1
        in_window = env.seq > after if after is not None else index >= offset
        if in_window:
            if len(events) < limit:
                events.append(env)
            else:
                more = True
    return HistoryPage(events=events, total=total, next_after=events[-1].seq if more and events else None,
                       state=state)


@dataclass
class Verification:
    ok: bool = True
    streams: int = 0
    events: int = 0
    first_bad: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, stored: StoredEvent | ReadEvent | None, stream: str, seq: int, found: Problem) -> None:
        """``problem`` is the Chinese text, ``problem_en`` the English, ``code`` the stable code."""
        self.ok = False
        entry = {"stream": stream, "seq": seq, "event_id": stored.envelope.event_id if stored else None,
                 "code": found.code, "problem": found.text("zh"), "problem_en": found.text("en")}
        self.problems.append(entry)
        if self.first_bad is None:
            self.first_bad = entry


def canonical_text(obj: Any) -> str:
    """:func:`~tongxiu.events.envelope.canonical`'s text (``canonical_text(obj).encode("utf-8")
    == canonical(obj)`` for any JSON value, tested)."""
    return canonical_str(obj)


def stored_hash(body: dict[str, Any]) -> tuple[str, str]:
    """(hash recorded in the stored bytes, hash recomputed from them)."""
    rest = dict(body)
    recorded = str(rest.pop("hash", ""))
    return recorded, hashlib.sha256(canonical_bytes(rest)).hexdigest()


_SIGNED_V2_KEYS = frozenset({"legacy_code", "signature_format", "submission_digest", "submission_size"})


class Checked(NamedTuple):
    """What one encoding of a stored body gives: the hash it records, the hash recomputed
    over its canonical bytes, and those bytes (the signed bytes are cut from them)."""

    recorded: str
    recomputed: str
    hashed: bytes
    body: dict[str, Any]

    def signed(self) -> bytes:
        """``stored_signing_bytes(body)``, for a format-2 body cut from the hashed bytes.

        The hashed bytes are the canonical form of the body without its hash: top-level keys
        sorted (department, event, event_id, index, legacy_code, occurred_at, prev_hash,
        recorded_at, seq, signature, signature_format, stream, submission_digest,
        submission_id, submission_size), each value in its own canonical form. The signed
        bytes are the canonical form of department, event, index, legacy_code, occurred_at,
        signature_format, stream, submission_digest, submission_id, submission_size: the same
        keys, values and order without event_id, prev_hash, recorded_at, seq and signature,
        i.e. three runs of the hashed bytes. A run starts at ``,"<key>":``; in canonical JSON
        a quote inside a string is escaped, so that pattern only occurs where an object has
        that key, and every top-level value after ``event`` is a scalar (a validated
        envelope's), so the last occurrence of each is the top-level key. Bodies without
        every format-2 field (format 1, or defaults left out) are encoded afresh."""
        return signed_of(self.body, self.hashed)


def signed_of(body: dict[str, Any], data: bytes) -> bytes:
    """:meth:`Checked.signed` of a body and its hashed bytes (the audit's loop calls it
    without building a :class:`Checked`)."""
    if body.get("signature_format", 1) == 1 or not _SIGNED_V2_KEYS.issubset(body):
        return stored_signing_bytes(body)
    skip_to = data.rfind(b',"signature_format":')
    skip_from = data.rfind(b',"prev_hash":', 0, skip_to)  # each key is before the next
    cut_to = data.rfind(b',"index":', 0, skip_from)
    cut_from = data.rfind(b',"event_id":', 0, cut_to)
    return data[:cut_from] + data[cut_to:skip_from] + data[skip_to:]


def check_body(body: dict[str, Any], plain: bool = False) -> Checked:
    """Hash and signed bytes of a stored envelope's parsed JSON from one canonical encoding.
    ``body`` must be one :meth:`Envelope.from_body` accepted (its top-level values other than
    ``event`` are scalars). ``plain``: the caller knows ``body`` is a plain JSON value
    (:attr:`ReadEvent.plain`), so it is encoded by orjson without looking at it again."""
    rest = dict(body)
    recorded = str(rest.pop("hash", ""))
    data = dumps_plain(rest) if plain else canonical_bytes(rest)
    return Checked(recorded, hashlib.sha256(data).hexdigest(), data, body)


def _signed_by(keys: list[str], signed: bytes, body: dict[str, Any]) -> bool:
    """Whether one of ``keys`` made the body's signature over ``signed``."""
    signature = str(body.get("signature", ""))
    for key in keys:
        if verify(key, signed, signature):
            return True
    return False


def _keys(log: EventLog, result: Verification) -> dict[str, DepartmentInfo]:
    """Walk the registry, checking every event's signature with the key its signer had at that
    point (the ledger's self-registration with the key it carries), and return the keys."""
    registry = RegistryState()
    for stored in (stored for page in _check_chain(log, REGISTRY_STREAM, result, {}) for stored in page):
        env = stored.envelope
        ev = env.event
        keys = [ev.public_key] if not registry.departments and isinstance(ev, DepartmentRegistered) else (  # the keys valid when it was recorded (key rotation)
            registry.departments[env.department].keys_at(env.recorded_at) if env.department in registry.departments
            else None
        )
        body = stored.body
        if keys is None:
            result.fail(stored, REGISTRY_STREAM, env.seq, problem("unregistered", where="", department=env.department))
        elif not _signed_by(keys, stored_signing_bytes(body), body):
            result.fail(stored, REGISTRY_STREAM, env.seq, problem("signature_invalid", where="", department=env.department))
        fold_registry(registry, env)
    return dict(registry.departments)


def _check_chain(
    log: EventLog, stream: str, result: Verification, keys: dict[str, DepartmentInfo], *, first: int = 1,
    last: int | None = None, batch: int = 1000,
) -> Iterator[list[ReadEvent]]:
    """Check seq ``first``..``last`` (all by default), read a page at a time (bounded memory),
    each event parsed once (:func:`read_pages`: the checked JSON and the envelope come from
    the same parse), and yield each page once checked; from the middle of a stream the chain
    is linked to the stored hash of event ``first - 1``. Signatures are checked with the keys
    of ``keys`` (none when it is empty)."""
    result.streams += 1
    prev = GENESIS_HASH
    if first > 1:
        before = log.read_stream(stream, from_seq=first - 1, limit=1)
        prev = str(json.loads(before[0].raw).get("hash", "")) if before else GENESIS_HASH
    expected = first
    fail = result.fail
    valid_keys = _KeysAt(keys)
    sha256 = hashlib.sha256
    for page in read_pages(log, stream, from_seq=first, batch=batch):
        end = last if last is not None else page[-1].envelope.seq
        beyond = page[-1].envelope.seq > end
        if beyond:
            page = [stored for stored in page if stored.envelope.seq <= end]
        for stored in page:  # check_body and Checked.signed, inlined (one call less each per event)
            env = stored.envelope
            seq = env.seq
            if seq != expected:
                fail(stored, stream, seq, problem("sequence_gap", expected=expected, found=seq))
            body = stored.body
            rest = dict(body)
            recorded = str(rest.pop("hash", ""))
            data = dumps_plain(rest) if stored.plain else canonical_bytes(rest)
            if recorded != sha256(data).hexdigest():
                fail(stored, stream, seq, problem("hash_mismatch", where=""))
            if env.prev_hash != prev:
                fail(stored, stream, seq, problem("prev_hash_mismatch", where=""))
            if keys:
                valid = valid_keys(env.department, env.recorded_at)
                if valid is None:
                    fail(stored, stream, seq, problem("unregistered", where="", department=env.department))
                elif not valid:
                    fail(stored, stream, seq, problem("no_valid_key", where="", department=env.department))
                elif not (verify(valid[0], signed_of(body, data), str(body.get("signature", ""))) if len(valid) == 1
                          else _signed_by(valid, signed_of(body, data), body)):
                    fail(stored, stream, seq, problem("signature_invalid", where="", department=env.department))
            prev = recorded
            expected = seq + 1
        result.events += len(page)
        yield page
        if beyond:
            return


class _KeysAt:
    """``keys[department].keys_at(recorded_at)`` (None: not registered), with the answer for
    a department whose keys are one window open from some instant on (no rotation: nearly
    every department) worked out once: every event from that instant on has that one key."""

    __slots__ = ("keys", "single")

    def __init__(self, keys: dict[str, DepartmentInfo]) -> None:
        self.keys = keys
        self.single: dict[str, tuple[datetime, list[str]] | None] = {}

    def __call__(self, department: str, recorded_at: datetime) -> list[str] | None:
        if department in self.single:
            single = self.single[department]
        else:
            info = self.keys.get(department)
            if info is None:
                return None
            windows = info.keys
            one = len(windows) == 1 and windows[0].valid_until is None
            single = self.single[department] = (windows[0].valid_from, [windows[0].public_key]) if one else None
        if single is not None and single[0] <= recorded_at:
            return single[1]
        info = self.keys.get(department)
        return info.keys_at(recorded_at) if info is not None else None


def verify_streams(log: EventLog, streams: list[str] | None = None, *, progress: Any = None) -> Verification:
    """Check the registry and the given streams (all when None). Never stops at the first
    problem, but reports it as ``first_bad``."""
    result = Verification()
    keys = _keys(log, result)
    targets = [s for s in (streams if streams is not None else log.streams()) if s != REGISTRY_STREAM]
    for stream in targets:
        for _ in _check_chain(log, stream, result, keys):
            pass
        if progress is not None:
            progress()
    return result


def verify_and_replay(
    log: EventLog, rules: Rules, streams: list[str] | None = None, *, each: Callable[[Replay], Any] | None = None,
    progress: Any = None, group: int = 1000,
) -> Verification:
    """:func:`verify_streams` and :func:`replay` of every verified stream in one pass: each
    event is read and decoded once and checked; then the streams' envelopes are folded, a
    group of streams at a time: streams are checked one after another until they hold
    ``group`` events (or the streams end), then each is folded, in order. Checking and folding
    each evict the other's caches; folding five streams of 20 events in a row instead of one
    measured 3–4 µs (~4 %) less CPU per event than a stream's checks then its fold
    (``docs/benchmarks.md``, issue 11 session 13), and folding event by event between the
    checks was slower still. Returns the same verification as ``verify_streams``; ``each`` gets
    each stream's replay (the same as ``replay(log, rules, stream)``) once its group is folded,
    in stream order, so memory is one group's histories (or one longer stream's) at a time.

    The collector's young threshold is held at least at :data:`~tongxiu.services.gcpause.AUDIT_YOUNG`
    while it runs (:func:`~tongxiu.services.gcpause.thresholds_at_least`): a group's envelopes
    are alive until folded, and young collections every 700 allocations scanned them to free
    nothing."""
    with thresholds_at_least(young=AUDIT_YOUNG):
        return _verify_and_replay(log, rules, streams, each, progress, group)


def _verify_and_replay(
    log: EventLog, rules: Rules, streams: list[str] | None, each: Callable[[Replay], Any] | None,
    progress: Any, group: int,
) -> Verification:
    result = Verification()
    keys = _keys(log, result)
    targets = [s for s in (streams if streams is not None else log.streams()) if s != REGISTRY_STREAM]
    checked: list[tuple[str, list[Envelope]]] = []
    held = 0
    last = len(targets) - 1
    for i, stream in enumerate(targets):
        kept = [stored.envelope for page in _check_chain(log, stream, result, keys) for stored in page]
        checked.append((stream, kept))
        held += len(kept)
        if held < group and i < last:
            continue
        for name, envelopes in checked:
            state = EnterpriseState.empty(name)
            fold_replayed(state, envelopes, rules)
            if each is not None:
                each(Replay(enterprise=name, as_of=None, known_at=None, events=envelopes, state=state))
            if progress is not None:
                progress()
        checked.clear()
        held = 0
    return result


def verify_range(log: EventLog, stream: str, first: int, last: int) -> Verification:
    """Check events ``first``..``last`` of one stream (and the registry's keys): the chain is
    linked to the event before ``first``; what a page shows is verified without reading the
    whole history."""
    result = Verification()
    keys = _keys(log, result)
    for _ in _check_chain(log, stream, result, keys, first=max(first, 1), last=last):
        pass
    return result


def export_jsonl(log: EventLog, code: str) -> Iterator[str]:
    for stored in iter_stream(log, code):
        yield stored.raw
