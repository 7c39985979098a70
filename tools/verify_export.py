#!/usr/bin/env python3
"""Verify a Yishi audit export without Yishi: one file, Python 3.9+ standard library only.

    python3 verify_export.py EXPORT_DIR [--json]

EXPORT_DIR is what ``yishi audit export ID --out EXPORT_DIR`` wrote. This program checks, independently of
the Yishi code base (see docs/audit.md for the file formats and docs/log-format.md for the hashed bytes):

- manifest:    every file listed in manifest.json has its sha256; nothing is missing or unlisted;
- chain:       each stream in events.jsonl starts at seq 1, has no gap, and every prev_hash and hash
               recomputes (SHA-256 of prev_hash followed by the canonical JSON of the line without "hash");
- checkpoints: every stream head (seq, hash) recorded in the Temporal histories (results of the activities
               open_box, record_checkpoint and seal_box, and of an appraisal's witness_appraisal_open,
               remind_appraisal and close_appraisal) names an event of the stream, hash for hash;
- sealed_head: the published final head (seal_box, result.json) is the stream's ResultRecorded event;
- after_seal:  no ballot-box event follows the sealed head (stage events may);
- roll:        the roll recorded when the box opened hashes to its digest and is the roll in roll.json;
- rules:       rule.json states each rule exactly as this file carries it (RULES below: the thresholds of
               民法典 第278条 and the other rules, by id, with their sources); a rule it does not know, or
               a threshold, basis or condition that differs, fails; so does a box whose rule is not stated;
- recount:     the ballots are counted again here, with exact fractions, under the box's rule as this file
               carries it (never as rule.json or the recorded result states it), and the result must equal
               the ResultRecorded event, result.json and the seal_box results (an owner's own ballot prevails
               over her proxy's when the box recorded that rule, ``owner_prevails``; see Count);
- tickets:     every escalation ticket of the deliberation or topic (named by an EscalationStarted event, a
               TopicRouted or TopicDecided event, an Escalation run among the histories, or the manifest)
               has its own stream in events.jsonl, which is checked like any other (chain: seq and hashes);
               every stream the manifest lists is there;
- topic:       a topic stream (an export of ``yishi audit export topic-…``) starts with its own TopicRaised,
               hides only comments it posted (their text stays), reopens at most once, and has no topic
               event after its end (declined, merged, closed);
- tickets:     every escalation ticket of the deliberation (named by an EscalationStarted event, by an
               Escalation run among the histories, or in the manifest) has its own stream in events.jsonl,
               which is checked like any other (chain: seq and hashes); every stream the manifest lists is
               there;
- postings:    every printed notice recorded as posted (NoticePosted) has its photo in photos/, and the photo
               hashes to the SHA-256 the chain recorded (who posted it, where and when are in the event);
- documents:   every document attached for the owners to read (DocumentAttached: the plan, the cost table) has
               its file in documents/, and the file hashes to the SHA-256 the chain recorded;
- attachments: every file attached to an escalation ticket (EscalationOpened's evidence) has its file in
               attachments/, hashing to the SHA-256 the chain recorded; a file the ticket names by hash only (kept
               outside Yishi by design, not in the export) is counted and not checked (the manifest check still
               fails on a listed file that is missing). One check, check_blobs, for all three kinds of file;
- ledger:      a community ledger (an export of ``points-…``, ``volunteers-…``, ``companies-…`` or ``appraisal-…``)
               replays: no balance or stock below zero, awards worth what their rules give, no rule about a ballot's
               content, capacities kept, check-outs counting their stay, one rating per owner, an appraisal's result
               equal to its recount and to what close_appraisal published, a register's red/black lists equal to
               their recomputation from the appraisal and ticket streams (none of these events counts as a ballot);
- kept_histories: every hash of a kept Temporal history that the streams publish (a result notice's
               "histories", each HistoryKept event) is the sha256 of that run's history file in the export;
- links:       every online ballot that records the generation of the personal link it came through names a
               link that a LinksIssued or LinkReissued event records (in a deliberation whose links are
               recorded at all). The report then lists what staff did to the links: each reissue with the
               ballots cast through it, each revocation, each disclosure of live links (a print, a download).
- meeting:     a meeting stream starts with its own MeetingScheduled; its minutes versions advance one at a
               time; a confirmation names the version current then; the publication lists exactly who had and
               had not confirmed, and is early only when nobody was missing; nothing but a vote's count
               follows it, nothing follows a cancellation; every act through a link names an invitation link
               issued to that holder (in the meeting's stream or its series') and not revoked before. A
               meeting's events are never counted as ballots (its vote has a ballot box of its own).

Exit status: 0 when every check holds, 1 when one fails, 2 when the directory cannot be read as an export.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
ENVELOPE_KEYS = ("occurred_at", "payload", "prev_hash", "recorded_at", "seq", "stream_id", "type")
BOX_TYPES = ("BoxOpened", "BallotCast", "ProxyAuthorised", "ProxyRevoked", "BoxSealed", "ResultRecorded")
LINK_TYPES = ("LinksIssued", "LinkReissued", "LinkRevoked", "LiveLinksDisclosed")  # no count: recount skips them
ROUND_MARK = "~r"
WITNESS_ACTIVITIES = ("open_box", "record_checkpoint", "seal_box", "witness_appraisal_open", "remind_appraisal",
                      "close_appraisal")
CHOICES = ("for", "against", "abstain")
CHANNELS = ("online", "paper")


class ExportError(Exception):
    """The directory is not a readable export (exit 2)."""


class CountError(Exception):
    """The stream cannot be counted (the domain refuses it the same way); ``seq`` names the event."""

    seq: int | None = None


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    subject: str = ""
    seq: int | None = None


@dataclass
class Witness:
    stream_id: str
    seq: int
    hash: str
    activity: str
    where: str
    results: dict | None = None


def short(text: str) -> str:
    return text[:12] + "…" if len(text) > 12 else text


# ---- canonical JSON and the chain (docs/log-format.md) ---------------------------------------------------


def _no_floats(value: Any, path: str = "$") -> None:
    if isinstance(value, (float, Decimal)):
        raise ValueError(f"{path}: a non-integer number; the format allows integers only")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_floats(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_floats(item, f"{path}[{index}]")


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 without \\u escapes (except controls, quote and backslash)."""
    _no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def check_chain(stream_id: str, rows: list[dict]) -> Check:
    if not rows:
        return Check("chain", False, "the stream has no events", stream_id)
    expected, prev = 1, GENESIS
    for row in rows:
        seq = row.get("seq")
        problem = _chain_problem(stream_id, row, expected, prev)
        if problem:
            return Check("chain", False, f"seq {seq}: {problem}", stream_id, seq)
        expected, prev = seq + 1, row["hash"]
    return Check("chain", True, f"{len(rows)} events, seq 1..{expected - 1} contiguous, head {short(prev)}", stream_id)


def _chain_problem(stream_id: str, row: dict, expected: int, prev: str) -> str | None:
    missing = [k for k in ENVELOPE_KEYS + ("hash",) if k not in row]
    if missing:
        return f"missing fields {missing}"
    if row["stream_id"] != stream_id:
        return f"belongs to stream {row['stream_id']!r}, expected {stream_id!r}"
    if row["seq"] != expected:
        return f"expected seq {expected} (gap, deletion or reordering)"
    if row["prev_hash"] != prev:
        return f"prev_hash {row['prev_hash']} does not match previous hash {prev}"
    try:
        actual = chain_hash(prev, canonical({k: row[k] for k in ENVELOPE_KEYS}))
    except ValueError as exc:
        return str(exc)
    if actual != row["hash"]:
        return f"hash {row['hash']} does not match recomputed {actual}"
    return None


# ---- reading the export ----------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path.name}: cannot read as JSON ({exc})") from None


def check_manifest(root: Path, manifest: dict) -> Check:
    listed, problems = set(), []
    for entry in manifest.get("files", []):
        name = str(entry.get("path", ""))
        listed.add(name)
        path = root / name
        if name.startswith("/") or ".." in Path(name).parts:
            problems.append(f"{name}: path leaves the export")
        elif not path.is_file():
            problems.append(f"{name}: listed but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry.get("sha256"):
            problems.append(f"{name}: sha256 differs from the manifest")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    problems += [f"{name}: not listed in the manifest" for name in sorted(present - listed)]
    if problems:
        return Check("manifest", False, "; ".join(problems), "manifest.json")
    return Check("manifest", True, f"{len(listed)} files match their sha256", "manifest.json")


def read_streams(root: Path) -> dict[str, list[dict]]:
    streams: dict[str, list[dict]] = {}
    try:
        lines = (root / "events.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ExportError(f"events.jsonl: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_float=Decimal)
        except ValueError as exc:
            raise ExportError(f"events.jsonl line {number}: not JSON ({exc})") from None
        streams.setdefault(str(row.get("stream_id")), []).append(row)
    for rows in streams.values():
        rows.sort(key=lambda r: r.get("seq") if isinstance(r.get("seq"), int) else -1)
    return streams


def _decode_payloads(container: Any) -> Any:
    payloads = (container or {}).get("payloads") or []
    if not payloads:
        return None
    first = payloads[0]
    encoding = base64.b64decode(first.get("metadata", {}).get("encoding", "")).decode("utf-8", "replace")
    if encoding != "json/plain":
        return None
    return json.loads(base64.b64decode(first.get("data", "")).decode("utf-8"))


def _event_kind(event: dict) -> str:
    kind = str(event.get("eventType", ""))
    return kind.replace("EVENT_TYPE_", "").replace("_", "").lower()


def history_witnesses(history: dict, label: str) -> list[Witness]:
    """Stream heads returned by the witness activities, from a history in Temporal's JSON form."""
    scheduled, found = {}, []
    for event in history.get("events", []):
        kind = _event_kind(event)
        if kind == "activitytaskscheduled":
            scheduled[str(event.get("eventId"))] = event.get("activityTaskScheduledEventAttributes", {})
        elif kind == "activitytaskcompleted":
            attrs = event.get("activityTaskCompletedEventAttributes", {})
            origin = scheduled.get(str(attrs.get("scheduledEventId")))
            witness = _witness(origin, attrs, f"{label} event {event.get('eventId')}") if origin else None
            if witness:
                found.append(witness)
    return found


def _witness(origin: dict, completed: dict, where: str) -> Witness | None:
    name = origin.get("activityType", {}).get("name")
    if name not in WITNESS_ACTIVITIES:
        return None
    params, result = _decode_payloads(origin.get("input")), _decode_payloads(completed.get("result"))
    if not isinstance(params, dict) or not isinstance(result, dict):
        return None
    head = result.get("head") if name == "seal_box" else result
    if not isinstance(head, dict) or "seq" not in head or "hash" not in head:
        return None
    stream = params.get("deliberation_id") or params.get("appraisal_id")
    return Witness(str(stream), int(head["seq"]), str(head["hash"]), name, where, result.get("results"))


def read_witnesses(root: Path, manifest: dict) -> list[Witness]:
    found = []
    for run in manifest.get("runs", []):
        label = f"{run.get('workflow_type')} {run.get('workflow_id')} run {run.get('run_id')}"
        found += history_witnesses(_read_json(root / run["file"]), label)
    return found


def published_witnesses(result_doc: dict) -> list[Witness]:
    return [Witness(box["stream_id"], int(box["head"]["seq"]), str(box["head"]["hash"]), "seal_box",
                    "result.json", box.get("results")) for box in result_doc.get("boxes", [])]


# ---- checks against the witnesses ------------------------------------------------------------------------


def _witness_problem(w: Witness, by_seq: dict[int, dict], last: int) -> str | None:
    if w.seq == 0:
        return None if w.hash == GENESIS else "an empty head must have 64 zeros"
    row = by_seq.get(w.seq)
    if row is None:
        return f"the stream has no seq {w.seq} (it ends at seq {last})"
    if row.get("hash") != w.hash:
        return f"the stream has hash {short(str(row.get('hash')))} at seq {w.seq}"
    return None


def _index(rows: list[dict]) -> tuple[dict[int, dict], int]:
    return {row.get("seq"): row for row in rows}, (rows[-1].get("seq") if rows else 0)


def check_checkpoints(stream_id: str, rows: list[dict], witnesses: list[Witness]) -> Check:
    mine = [w for w in witnesses if w.stream_id == stream_id]
    opened = [r["seq"] for r in rows if r.get("type") == "BoxOpened"]
    if not mine:
        if opened:
            return Check("checkpoints", False, "a ballot box was opened on this stream but no Temporal history "
                         "witnesses it", stream_id, opened[0])
        return Check("checkpoints", True, "no ballot box on this stream; nothing to witness", stream_id)
    by_seq, last = _index(rows)
    bad = [(w, p) for w in mine for p in [_witness_problem(w, by_seq, last)] if p]
    if bad:
        w, problem = min(bad, key=lambda item: item[0].seq)
        detail = (f"checkpoint seq {w.seq} hash {short(w.hash)} ({w.activity}, {w.where}): {problem}; "
                  f"{len(bad)} of {len(mine)} checkpoints fail")
        return Check("checkpoints", False, detail, stream_id, w.seq)
    return Check("checkpoints", True, f"{len(mine)} checkpoints match (highest seq {max(w.seq for w in mine)})",
                 stream_id)


def sealed_seq(rows: list[dict]) -> int | None:
    return next((row["seq"] for row in rows if row.get("type") == "ResultRecorded"), None)


def _seal_problem(w: Witness, by_seq: dict[int, dict], last: int) -> str | None:
    problem = _witness_problem(w, by_seq, last)
    if problem:
        return problem
    row, before = by_seq[w.seq], by_seq.get(w.seq - 1)
    if row.get("type") != "ResultRecorded":
        return f"seq {w.seq} is a {row.get('type')}, expected ResultRecorded"
    if before is None or before.get("type") != "BoxSealed":
        return f"seq {w.seq - 1} should be the BoxSealed appended with the result"
    return None


def check_sealed_head(stream_id: str, rows: list[dict], seals: list[Witness]) -> Check:
    seals = [w for w in seals if w.stream_id == stream_id]
    in_stream = sealed_seq(rows)
    if not seals:
        if in_stream is not None:
            return Check("sealed_head", False, f"the stream records a result at seq {in_stream} but no Temporal "
                         "history witnesses a seal (history deleted, or events forged)", stream_id, in_stream)
        return Check("sealed_head", True, "not sealed (yet): no final head to check", stream_id)
    by_seq, last = _index(rows)
    for w in seals:
        problem = _seal_problem(w, by_seq, last)
        if problem:
            return Check("sealed_head", False, f"published head seq {w.seq} hash {short(w.hash)} ({w.where}): "
                         f"{problem}", stream_id, w.seq)
    if in_stream is not None and in_stream != seals[0].seq:
        return Check("sealed_head", False, f"the stream records a result at seq {in_stream}, the published head "
                     f"is seq {seals[0].seq}", stream_id, min(in_stream, seals[0].seq))
    return Check("sealed_head", True, f"published head seq {seals[0].seq} hash {short(seals[0].hash)} matches",
                 stream_id)


def check_after_seal(stream_id: str, rows: list[dict]) -> Check:
    sealed = sealed_seq(rows)
    if sealed is None:
        return Check("after_seal", True, "not sealed (yet)", stream_id)
    late = [row for row in rows if row["seq"] > sealed and row.get("type") in BOX_TYPES]
    if late:
        return Check("after_seal", False, f"seq {late[0]['seq']} is a {late[0]['type']} after the sealed head seq "
                     f"{sealed}; only stage events may follow the seal", stream_id, late[0]["seq"])
    later = sum(1 for row in rows if row["seq"] > sealed)
    return Check("after_seal", True, f"{later} stage events after the sealed head seq {sealed}", stream_id)


# ---- the roll (docs/rules.md, "Roll digest") -------------------------------------------------------------


def decimal_str(value: Decimal) -> str:
    if not value.is_finite():
        raise CountError(f"not a finite decimal: {value}")
    return "0" if value == 0 else format(value.normalize(), "f")


def roll_digest(entries: list[dict]) -> str:
    seen = set()
    for room in entries:
        if room["room_id"] in seen:
            raise CountError(f"duplicate room_id {room['room_id']}")
        seen.add(room["room_id"])
    rooms = [{"area_m2": decimal_str(Decimal(str(r["area_m2"]))), "building": r["building"],
              "entrance": r["entrance"], "floor": r["floor"], "owner_id": r["owner_id"], "room_id": r["room_id"]}
             for r in sorted(entries, key=lambda r: r["room_id"])]
    document = {"format": "yishi-roll/1", "rooms": rooms}
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def check_roll(stream_id: str, rows: list[dict], rolls: dict[str, list[dict]]) -> Check | None:
    opened = [(r["seq"], r.get("payload", {})) for r in rows if r.get("type") == "BoxOpened"]
    if not opened:
        return None
    for seq, payload in opened:
        stated = payload.get("roll_digest")
        try:
            digest = roll_digest(payload.get("roll", []))
            exported = roll_digest(rolls[stated]) if stated in rolls else None
        except (CountError, KeyError, TypeError, ArithmeticError) as exc:
            return Check("roll", False, f"a roll cannot be read: {exc}", stream_id, seq)
        if digest != stated:
            return Check("roll", False, f"the roll in BoxOpened hashes to {short(digest)}, it states "
                         f"{short(str(stated))}", stream_id, seq)
        if exported != stated:
            return Check("roll", False, f"roll.json has no roll with digest {short(str(stated))}", stream_id, seq)
    return Check("roll", True, f"roll {short(opened[-1][1]['roll_digest'])} matches its digest", stream_id)


# ---- the rules, carried here (docs/rules.md "Rules"): the recount never takes a threshold from the export -----


def _cond(cid: str, basis: str, measure: str, base: str, fraction: str, inclusive: bool) -> dict:
    return {"id": cid, "basis": basis, "measure": measure, "base": base,
            "threshold": {"fraction": fraction, "inclusive": inclusive}}


def _approval(fraction: str, inclusive: bool, base: str = "participating") -> list[dict]:
    return [_cond("approval-area", "area", "in_favour", base, fraction, inclusive),
            _cond("approval-owners", "owners", "in_favour", base, fraction, inclusive)]


# 民法典 第278条: participants hold ≥ 2/3 of the area and are ≥ 2/3 of the owners; 第1259条: "以上" is ≥.
_QUORUM_278 = [_cond("quorum-area", "area", "participating", "eligible", "2/3", True),
               _cond("quorum-owners", "owners", "participating", "eligible", "2/3", True)]

RULES: dict[str, dict] = {rule["id"]: rule for rule in (
    {"id": "cc278-special", "source_zh": "民法典第278条第二款（第一款第六项至第八项）、第1259条",
     "source_en": "Civil Code art. 278 para. 2 (matters 6-8 of para. 1); art. 1259 ('以上' includes the bound)",
     "quorum": _QUORUM_278, "approval": _approval("3/4", True)},
    {"id": "cc278-ordinary", "source_zh": "民法典第278条第二款（第一款其他事项）、第1259条",
     "source_en": "Civil Code art. 278 para. 2 (the other matters of para. 1); art. 1259 ('过半数' is more than half)",
     "quorum": _QUORUM_278, "approval": _approval("1/2", False)},
    {"id": "consent-2of3",
     "source_zh": "地方既有住宅加装电梯规定（如济南2019年：本单元面积和人数均三分之二以上书面同意）",
     "source_en": "local elevator-installation rules (e.g. Jinan 2019: written consent of >=2/3 of the entrance's "
                  "area and owners)",
     "quorum": [], "approval": _approval("2/3", True, base="eligible")},
    {"id": "unanimous", "source_zh": "无法定依据：全体业主一致同意",
     "source_en": "no statute: agreement of every owner of the scope",
     "quorum": [], "approval": [_cond("approval-owners", "owners", "in_favour", "eligible", "1/1", True)]},
    {"id": "headcount-majority", "source_zh": "无法定依据：协商议事的默认规则",
     "source_en": "no statute: Yishi's default for consultations (议事会)",
     "quorum": [], "approval": [_cond("approval-owners", "owners", "in_favour", "participating", "1/2", False)]},
)}
"""The decision rules by id, as this file knows them: the recount uses these, and ``rules`` fails when rule.json
states a rule otherwise. tests/audit/test_audit_standalone.py holds this table equal to domain/rules.py."""
STAGES = ("quorum", "approval")


def known_rule(rule_id: str) -> dict:
    if rule_id not in RULES:
        raise CountError(f"rule {rule_id!r} is not one this verifier knows ({', '.join(RULES)})")
    return RULES[rule_id]


def _threshold_text(cond: dict) -> str:
    threshold = cond.get("threshold") or {}
    return f"{'≥' if threshold.get('inclusive') else '>'} {threshold.get('fraction')}"


def _condition_text(cond: dict) -> str:
    return f"{cond.get('measure')}/{cond.get('base')} {cond.get('basis')} {_threshold_text(cond)}"


def _same_condition(mine: dict, theirs: dict) -> bool:
    try:
        threshold = theirs["threshold"]
        return (all(mine[k] == theirs.get(k) for k in ("basis", "measure", "base"))
                and fraction(mine["threshold"]["fraction"]) == fraction(threshold["fraction"])
                and threshold["inclusive"] is mine["threshold"]["inclusive"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return False


def rule_differences(stated: dict) -> list[str]:
    """How a rule in rule.json differs from the rule of the same id here (empty: it does not)."""
    rule_id = stated.get("id")
    if rule_id not in RULES:
        return [f"rule.json states rule {rule_id!r}, which this verifier does not know ({', '.join(RULES)})"]
    mine, found = RULES[rule_id], []
    for stage in STAGES:
        ours = {c["id"]: c for c in mine[stage]}
        theirs = {c.get("id"): c for c in stated.get(stage) or [] if isinstance(c, dict)}
        for cid in [*ours, *(k for k in theirs if k not in ours)]:
            if cid not in theirs:
                found.append(f"{stage} condition {cid} ({_condition_text(ours[cid])}) is missing from rule.json")
            elif cid not in ours:
                found.append(f"rule.json adds {stage} condition {cid} ({_condition_text(theirs[cid])})")
            elif not _same_condition(ours[cid], theirs[cid]):
                found.append(f"{cid}: rule.json has {_condition_text(theirs[cid])}, the rule has "
                             f"{_condition_text(ours[cid])}")
    return [f"{rule_id} {d} ({mine['source_zh']})" for d in found]


def _box_rules(streams: dict[str, list[dict]]) -> list[tuple[str, Any, Any]]:
    return [(stream_id, row.get("seq"), (row.get("payload") or {}).get("rule_id"))
            for stream_id, rows in sorted(streams.items()) for row in rows if row.get("type") == "BoxOpened"]


def check_rules(stated: list[dict], streams: dict[str, list[dict]]) -> Check:
    """rule.json against the rules carried here; every rule a box opened under must be stated too."""
    problems = [d for rule in stated for d in rule_differences(rule)]
    names = {rule.get("id") for rule in stated}
    problems += [f"{stream_id} seq {seq} opens a box under rule {rule_id!r}, which rule.json does not state"
                 for stream_id, seq, rule_id in _box_rules(streams) if rule_id not in names]
    if problems:
        return Check("rules", False, "; ".join(problems), "rule.json")
    stated_ids = ", ".join(str(rule.get("id")) for rule in stated) or "none"
    return Check("rules", True, f"rule.json states each rule as this verifier knows it ({stated_ids})", "rule.json")


# ---- the recount (mirrors domain/tally.py, domain/ballots.py, domain/tally_result.py) ---------------------


def instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if value.tzinfo is None:
        raise CountError(f"timestamp without offset: {text}")
    return value


class Grant:
    def __init__(self, owner: str, proxy: str, start: datetime, refused: bool) -> None:
        self.owner, self.proxy, self.start, self.end, self.refused = owner, proxy, start, None, refused

    def in_force(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


class Proxies:
    """Authorisations over time: one proxy per owner, at most ``limit`` owners per proxy."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_owner: dict[str, list[Grant]] = {}
        self.by_proxy: dict[str, list[Grant]] = {}

    def active(self, owner: str, at: datetime) -> str | None:
        return next((g.proxy for g in self.by_owner.get(owner, []) if not g.refused and g.in_force(at)), None)

    def authorise(self, owner: str, proxy: str, at: datetime) -> None:
        if self.active(owner, at) == proxy:
            return
        self.revoke(owner, None, at)
        if owner == proxy:
            raise CountError("an owner cannot be their own proxy")
        held = [g.owner for g in self.by_proxy.get(proxy, []) if not g.refused and g.in_force(at) and g.owner != owner]
        grant = Grant(owner, proxy, at, refused=len(held) >= self.limit)
        self.by_owner.setdefault(owner, []).append(grant)
        self.by_proxy.setdefault(proxy, []).append(grant)

    def revoke(self, owner: str, proxy: str | None, at: datetime) -> None:
        for grant in self.by_owner.get(owner, []):
            if grant.in_force(at) and proxy in (None, grant.proxy):
                grant.end = at

    def rejection(self, owner: str, cast_by: str | None, cast_at: datetime | None) -> str | None:
        if not cast_by or cast_by == owner:
            return None
        if cast_at is None:
            return "proxy-no-time"
        grants = [g for g in self.by_owner.get(owner, []) if g.proxy == cast_by]
        if any(g.in_force(cast_at) and not g.refused for g in grants):
            return None
        if any(g.in_force(cast_at) for g in grants):
            return "proxy-limit"
        if any(g.start <= cast_at for g in grants):
            return "proxy-revoked"
        return "proxy-unauthorised"


class Box:
    """The electorate, the rule, the proxy book and one running count per question."""

    def __init__(self, payload: dict) -> None:
        if roll_digest(payload["roll"]) != payload["roll_digest"]:
            raise CountError("the roll in BoxOpened does not match its digest")
        self.rule = known_rule(payload["rule_id"])
        self.areas, self.on_roll = electorate(payload["roll"], payload.get("scope") or {})
        self.deem_silent = bool(payload.get("deem_silent", False))
        self.deem_over_half = bool(payload.get("deem_over_half", False))  # absent from boxes opened before it
        # The owner's own ballot prevails over her proxy's (RULES.md); absent from boxes opened before the rule was
        # recorded, where the last ballot counted whoever cast it.
        self.owner_prevails = bool(payload.get("owner_prevails", False))
        self.proxies = Proxies(int(payload.get("proxy_limit", 3)))
        self.counts = {q.get("id", "main"): Count(self) for q in payload["questions"]}


def electorate(roll: list[dict], scope: dict) -> tuple[dict[str, Decimal], set]:
    rooms = scope.get("rooms")
    if rooms is not None:
        unknown = [r for r in rooms if r not in {room["room_id"] for room in roll}]
        if unknown:
            raise CountError(f"these rooms are not on the roll: {', '.join(unknown)}")
    areas: dict[str, Decimal] = {}
    for room in roll:
        if _in_scope(room, scope):
            areas[room["owner_id"]] = areas.get(room["owner_id"], Decimal(0)) + Decimal(str(room["area_m2"]))
    if not areas:
        raise CountError("no room on the roll belongs to the scope")
    return areas, {room["owner_id"] for room in roll}


def _in_scope(room: dict, scope: dict) -> bool:
    if scope.get("rooms") is not None:
        return room["room_id"] in scope["rooms"]
    if scope.get("building") is not None and room["building"] != scope["building"]:
        return False
    return scope.get("entrance") is None or room["entrance"] == scope["entrance"]


class Count:
    """Per owner the latest ballot of each standing; the first standing that holds one counts; sums by choice.

    Standings, in order: with ``owner_prevails``, the owner's own online ballot, her own paper ballot, her proxy's
    online ballot, her proxy's paper ballot; without it (boxes opened before the rule), online then paper,
    whoever cast them."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self.rank = (("online", "paper", "online-proxy", "paper-proxy") if box.owner_prevails
                     else ("online", "paper"))
        self.best: dict[str, dict[str, tuple]] = {slot: {} for slot in self.rank}
        self.counted: dict[str, str] = {}
        self.ignored: list[tuple] = []
        self.index = 0

    def add(self, ballot: dict) -> None:
        self.index += 1
        owner, channel, choice = ballot["owner_id"], ballot.get("channel", "online"), ballot["choice"]
        if choice not in CHOICES or channel not in CHANNELS:
            raise CountError(f"invalid choice {choice!r} or channel {channel!r}")
        cast_at, cast_by = instant(ballot.get("cast_at")), ballot.get("cast_by")
        reason = self._rejection(owner, cast_by, cast_at)
        if reason is not None:
            self.ignored.append((owner, cast_by, channel, cast_at, reason))
            return
        key = (0, self.index) if cast_at is None else (1, cast_at, self.index)
        by_proxy = bool(cast_by) and cast_by != owner
        slot = channel + "-proxy" if by_proxy and self.box.owner_prevails else channel
        current = self.best[slot].get(owner)
        if current is None or key > current[0]:
            self.best[slot][owner] = (key, choice)
        self.counted[owner] = next(self.best[s][owner] for s in self.rank if owner in self.best[s])[1]

    def _rejection(self, owner: str, cast_by: str | None, cast_at: datetime | None) -> str | None:
        if owner not in self.box.areas:
            return "not-in-scope" if owner in self.box.on_roll else "not-on-roll"
        return self.box.proxies.rejection(owner, cast_by, cast_at)

    def votes(self) -> dict[str, tuple[int, Decimal]]:
        sums = {c: (0, Decimal(0)) for c in CHOICES}
        for owner, choice in self.counted.items():
            owners, area = sums[choice]
            sums[choice] = (owners + 1, area + self.box.areas[owner])
        return sums

    def result(self) -> dict:
        eligible = (len(self.box.areas), sum(self.box.areas.values(), Decimal(0)))
        result = evaluate(self.box.rule, eligible, self.votes(), self.box.deem_silent, self.box.deem_over_half)
        result["ignored"] = list(self.ignored)
        return result


def _plus(a: tuple[int, Decimal], b: tuple[int, Decimal]) -> tuple[int, Decimal]:
    return a[0] + b[0], a[1] + b[1]


def ratio(numerator: Any, denominator: Any) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def fraction(text: str | None) -> Fraction | None:
    if text is None:
        return None
    numerator, _, denominator = str(text).partition("/")
    return Fraction(int(numerator), int(denominator or 1))


def _condition(cond: dict, stage: str, counts: dict[str, tuple[int, Decimal]]) -> tuple:
    num, den = counts[cond["measure"]], counts[cond["base"]]
    value = ratio(num[1], den[1]) if cond["basis"] == "area" else ratio(num[0], den[0])
    threshold = fraction(cond["threshold"]["fraction"])
    inclusive = bool(cond["threshold"]["inclusive"])
    met = value is not None and (value >= threshold if inclusive else value > threshold)
    return cond["id"], stage, value, threshold, inclusive, met


def evaluate(rule: dict, eligible: tuple, votes: dict[str, tuple], deem_silent: bool,
             deem_over_half: bool = False) -> dict:
    participating = _plus(_plus(votes["for"], votes["against"]), votes["abstain"])
    counts = {"eligible": eligible, "participating": participating, "in_favour": votes["for"]}
    quorum = [_condition(c, "quorum", counts) for c in rule.get("quorum", [])]
    approval = [_condition(c, "approval", counts) for c in rule.get("approval", [])]
    quorum_met = all(c[5] for c in quorum) if quorum else None
    approved = quorum_met is not False and all(c[5] for c in approval)
    outcome = "no_quorum" if quorum_met is False else ("approved" if approved else "rejected")
    deeming = _deem(rule, eligible, votes, participating, deem_over_half) if deem_silent else None
    applied = deeming is not None and deeming["applied"] and deeming["result"] is not None
    return {
        "rule": rule["id"], "eligible": eligible, "participating": participating, "in_favour": votes["for"],
        "against": votes["against"], "abstain": votes["abstain"],
        "ratios": {"participation_area": ratio(participating[1], eligible[1]),
                   "participation_owners": ratio(participating[0], eligible[0]),
                   "in_favour_area": ratio(votes["for"][1], participating[1]),
                   "in_favour_owners": ratio(votes["for"][0], participating[0])},
        "conditions": quorum + approval, "quorum_met": quorum_met, "approved": approved, "outcome": outcome,
        "deeming": deeming, "effective_outcome": deeming["result"]["outcome"] if applied else outcome,
    }


def _deem(rule: dict, eligible: tuple, votes: dict[str, tuple], participating: tuple, over_half: bool) -> dict:
    silent = (eligible[0] - participating[0], eligible[1] - participating[1])
    yes, no = votes["for"], votes["against"]
    if yes[0] > no[0] and yes[1] > no[1]:
        direction = "for"
    elif no[0] > yes[0] and no[1] > yes[1]:
        direction = "against"
    else:
        return {"applied": False, "direction": None, "silent": silent, "result": None}
    side = votes[direction]
    if over_half and not (side[0] * 2 > eligible[0] and side[1] * 2 > eligible[1]):
        # Zhejiang's condition: the majority's own ballots must be more than half of all owners, by both measures.
        return {"applied": False, "direction": direction, "silent": silent, "result": None}
    deemed = dict(votes)
    deemed[direction] = _plus(votes[direction], silent)
    result = evaluate(rule, eligible, deemed, False)
    result["ignored"] = []
    return {"applied": True, "direction": direction, "silent": silent, "result": result}


def recount(rows: list[dict]) -> tuple[dict | None, dict | None, int | None]:
    """(recounted results, recorded results, seq of ResultRecorded) under the rules carried here (``RULES``, never
    rule.json); raises CountError naming the seq."""
    box: Box | None = None
    for row in rows:
        kind, payload = row.get("type"), row.get("payload") or {}
        if kind not in BOX_TYPES:
            continue
        if kind == "ResultRecorded":
            return _results(box), payload.get("results"), row["seq"]
        try:
            box = _apply(box, kind, payload)
        except (CountError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
            error = CountError(f"seq {row['seq']}: {kind} cannot be counted: {exc!r}")
            error.seq = row["seq"]
            raise error from None
    return _results(box), None, None


def _apply(box: Box | None, kind: str, payload: dict) -> Box | None:
    if kind == "BoxOpened":
        return Box(payload)
    if kind == "BoxSealed":
        return box
    if box is None:
        raise CountError("the ballot box is not open")
    at = instant(payload.get("at"))
    if kind == "BallotCast":
        box.counts[payload.get("question_id", "main")].add(payload)
    elif kind == "ProxyAuthorised":
        box.proxies.authorise(payload["owner_id"], payload["proxy_owner_id"], at)
    elif kind == "ProxyRevoked":
        box.proxies.revoke(payload["owner_id"], payload["proxy_owner_id"], at)
    return box


def _results(box: Box | None) -> dict | None:
    return None if box is None else {qid: count.result() for qid, count in box.counts.items()}


def _pair(count: dict) -> tuple[int, Decimal]:
    return int(count["owners"]), Decimal(str(count["area"]))


def from_recorded(result: dict) -> dict:
    """A recorded (JSON) result in the same shape as :func:`evaluate` gives, to compare value for value."""
    deeming = result.get("deeming")
    return {
        "rule": result["rule"], **{k: _pair(result[k]) for k in ("eligible", "participating", "in_favour",
                                                                  "against", "abstain")},
        "ratios": {k: fraction(v) for k, v in result["ratios"].items()},
        "conditions": [(c["id"], c["stage"], fraction(c["ratio"]), fraction(c["threshold"]["fraction"]),
                        bool(c["threshold"]["inclusive"]), bool(c["met"])) for c in result["conditions"]],
        "quorum_met": result["quorum_met"], "approved": result["approved"], "outcome": result["outcome"],
        "deeming": None if deeming is None else {
            "applied": deeming["applied"], "direction": deeming["direction"], "silent": _pair(deeming["silent"]),
            "result": None if deeming.get("result") is None else from_recorded(deeming["result"])},
        "effective_outcome": result["effective_outcome"],
        "ignored": [(i["owner_id"], i.get("cast_by"), i["channel"], instant(i.get("cast_at")), i["reason"])
                    for i in result.get("ignored", [])],
    }


def difference(mine: Any, theirs: Any, path: str = "") -> str | None:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in [*mine, *(k for k in theirs if k not in mine)]:  # headline figures first
            found = difference(mine.get(key), theirs.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        for index, (one, other) in enumerate(zip(mine, theirs)):  # noqa: B905 (strict= needs 3.10; lengths equal)
            found = difference(one, other, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if mine == theirs else f"{path or '$'}: recount {_show(mine)}, recorded {_show(theirs)}"


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Decimal):
        return f"{value[0]} owners, {decimal_str(value[1])} m²"
    if isinstance(value, tuple) and len(value) == 6 and isinstance(value[3], Fraction):  # a condition
        cid, _, share, threshold, inclusive, met = value
        shown = "—" if share is None else f"{share.numerator}/{share.denominator}"
        return (f"{cid} {shown} against {'≥' if inclusive else '>'} {threshold.numerator}/{threshold.denominator}"
                f" ({'met' if met else 'not met'})")
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def compare(recounted: dict, recorded: Any) -> str | None:
    try:
        theirs = {qid: from_recorded(r) for qid, r in (recorded or {}).items()}
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return f"the recorded result cannot be read: {exc!r}"
    return difference(recounted, theirs)


def check_recount(stream_id: str, rows: list[dict], seals: list[Witness]) -> Check | None:
    if not any(row.get("type") == "BoxOpened" for row in rows):
        return None
    try:
        results, recorded, recorded_seq = recount(rows)
    except CountError as exc:
        return Check("recount", False, str(exc), stream_id, exc.seq)
    if recorded_seq is None:
        return Check("recount", True, "box not sealed: running count only, no recorded result", stream_id)
    diff = compare(results or {}, recorded)
    if diff:
        return Check("recount", False, f"ResultRecorded at seq {recorded_seq} differs — {diff}", stream_id,
                     recorded_seq)
    for seal in (w for w in seals if w.stream_id == stream_id):
        diff = compare(results or {}, seal.results)
        if diff:
            return Check("recount", False, f"the result published by seal_box ({seal.where}) differs — {diff}",
                         stream_id, seal.seq)
    outcomes = ", ".join(f"{qid}: {r['outcome']}" for qid, r in (results or {}).items())
    return Check("recount", True, f"recount equals the recorded and published result ({outcomes})", stream_id)


# ---- escalation tickets -----------------------------------------------------------------------------------


def expected_tickets(streams: dict[str, list[dict]], manifest: dict) -> dict[str, list[str]]:
    """Ticket id -> where it is named: EscalationStarted events, Escalation runs, the manifest."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in streams.items():
        for row in rows:
            payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
            ticket = payload.get("ticket_id") if row.get("type") == "EscalationStarted" else None
            if isinstance(ticket, str):
                found.setdefault(ticket, []).append(f"EscalationStarted {stream_id} seq {row.get('seq')}")
    for ticket, sources in topic_tickets(streams).items():
        found.setdefault(ticket, []).extend(sources)
    for ticket, sources in meeting_tickets(streams).items():
        found.setdefault(ticket, []).extend(sources)
    for run in manifest.get("runs", []):
        if run.get("workflow_type") == "Escalation":
            found.setdefault(str(run.get("workflow_id")), []).append(f"Temporal run {run.get('workflow_id')}")
    for ticket in manifest.get("tickets", {}) or {}:
        found.setdefault(str(ticket), []).append("manifest.json")
    return found


def check_tickets(deliberation_id: str, streams: dict[str, list[dict]], manifest: dict) -> list[Check]:
    checks = []
    listed = [str(s) for s in manifest.get("streams", [])]
    absent = [s for s in listed if not streams.get(s)]
    if absent:
        checks.append(Check("streams", False, f"manifest.json lists stream {absent[0]} but events.jsonl has no "
                            f"event of it ({len(absent)} of {len(listed)} streams missing)", absent[0]))
    tickets = expected_tickets(streams, manifest)
    if not tickets:
        checks.append(Check("tickets", True, "no escalation tickets", deliberation_id))
        return checks
    missing = [t for t in sorted(tickets) if not streams.get(t)]
    if missing:
        ticket = missing[0]
        checks.append(Check("tickets", False, f"ticket {ticket} (named by {'; '.join(tickets[ticket])}) has no "
                            f"events in events.jsonl; {len(missing)} of {len(tickets)} ticket streams missing",
                            ticket))
        return checks
    described = ", ".join(f"{t} ({len(streams[t])} events)" for t in sorted(tickets))
    checks.append(Check("tickets", True, f"{len(tickets)} ticket streams checked: {described}", deliberation_id))
    return checks


# ---- topics (issue 16) ------------------------------------------------------------------------------------

TOPIC_TYPES = ("TopicRaised", "TakeUpAssigned", "TakeUpDeadlineMissed", "SupportAdded", "SupportersMerged",
               "CommentPosted", "CommentHidden", "TopicTaken", "TopicDeclined", "TopicMerged", "TopicRouted",
               "RouteEnded", "TopicScheduled", "TopicDecided", "TopicVoteCounted", "FollowUpOpened", "MilestoneDone",
               "MilestoneMissed", "TopicResolved", "FeedbackRequested", "FeedbackGiven", "TopicReopened",
               "TopicClosed")
TOPIC_ENDS = ("TopicDeclined", "TopicMerged", "TopicClosed")


def topic_tickets(streams: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Tickets a topic names: routed to the ladder (TopicRouted) or escalated by a meeting (TopicDecided)."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in streams.items():
        for row in rows:
            payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
            ticket = None
            if row.get("type") == "TopicRouted" and payload.get("target") == "ladder":
                ticket = payload.get("ticket_id")
            elif row.get("type") == "TopicDecided" and isinstance(payload.get("decision"), dict):
                ticket = payload["decision"].get("ticket_id")
            if isinstance(ticket, str):
                found.setdefault(ticket, []).append(f"{row.get('type')} {stream_id} seq {row.get('seq')}")
    return found


def topic_problem(stream_id: str, rows: list[dict]) -> tuple:
    """The first way a topic stream does not hold together, (seq, what), or (None, None): it starts with its own
    TopicRaised, a hidden comment was posted first, it reopens at most once, no topic event follows its end."""
    first = rows[0].get("payload") or {}
    if first.get("topic_id") != stream_id:
        return rows[0].get("seq"), f"TopicRaised names topic {first.get('topic_id')!r}, not {stream_id!r}"
    posted, reopened, ended = set(), 0, None
    for row in rows[1:]:
        kind, payload, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind not in TOPIC_TYPES:
            continue
        if ended is not None:
            return seq, f"{kind} after the topic ended ({ended})"
        if kind == "TopicRaised":
            return seq, "a second TopicRaised"
        if kind == "CommentPosted":
            posted.add(payload.get("comment_id"))
        elif kind == "CommentHidden" and payload.get("comment_id") not in posted:
            return seq, f"hides comment {payload.get('comment_id')!r}, which was never posted"
        elif kind == "TopicReopened":
            reopened += 1
            if reopened > 1:
                return seq, "reopened a second time (a topic reopens once)"
        if kind in TOPIC_ENDS:
            ended = f"{kind} at seq {seq}"
    return None, None


def check_topic(stream_id: str, rows: list[dict]) -> Check | None:
    if not rows or rows[0].get("type") != "TopicRaised":
        return None
    seq, problem = topic_problem(stream_id, rows)
    if problem is not None:
        return Check("topic", False, f"seq {seq}: {problem}", stream_id, seq)
    counted = sum(1 for row in rows if row.get("type") in TOPIC_TYPES)
    return Check("topic", True, f"{counted} topic events hold together", stream_id)

# ---- community ledgers (issue 20): points, volunteers, appraisals, a street's register ---------------------
#
# None of these events is a ballot: the recount above never sees them. Each stream is replayed here with the
# rules of domain/points_audit.py, domain/volunteers.py, domain/appraisal.py and domain/company_list.py.

BALLOT_TERMS = ("choice", "choose", "chosen", "vote", "voted", "voting", "ballot", "option", "question", "candidate",
                "approve", "approval", "reject", "against", "abstain", "favour", "favor", "outcome", "result",
                "投票", "表决", "选票", "赞成", "反对", "弃权", "同意", "不同意", "选项", "选择", "候选", "结果")
CHOICE_VALUES = ("for", "against", "abstain", "yes", "no", "approve", "approved", "reject", "rejected",
                 "赞成", "反对", "弃权", "同意", "不同意", "支持")
PHRASES = ("赞成票", "反对票", "弃权票", "投赞成", "投反对", "投弃权", "投了赞成", "投了反对", "投同意", "投不同意",
           "按投票结果", "按表决结果", "voted for", "voted against", "vote for", "vote against", "votes for",
           "votes against", "voting for", "voting against", "in favour", "in favor", "abstained",
           "how they voted", "how he voted", "how she voted", "ballot choice", "ballot content")
LEDGER_FIRST = {"LedgerOpened": "points", "VolunteersOpened": "volunteers", "AppraisalOpened": "appraisal",
                "RegisterOpened": "register"}
PARTY = ("party_member", "dual_report")


class LedgerProblem(Exception):
    pass


def _fold_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def ballot_reference(facts: dict) -> str | None:
    for key, value in facts.items():
        folded = _fold_text(re.sub(r"([a-z])([A-Z])", r"\1_\2", str(key)))
        words = [w for w in re.split(r"[^0-9a-z]+", folded) if w]
        for term in BALLOT_TERMS:
            if (any(w.startswith(term) for w in words) if term.isascii() else term in folded):
                return f"{key} ({term})"
        if _fold_text(str(value)) in CHOICE_VALUES:
            return f"{key}={value}"
    return None


def rule_problem(rule: dict) -> str | None:
    found = ballot_reference(rule.get("conditions") or {})
    if found:
        return f"rule {rule.get('rule_id')}: condition {found} refers to what a ballot said"
    for text in (rule.get("name_zh", ""), rule.get("name_en", ""), rule.get("description", "")):
        folded = _fold_text(str(text))
        if any(p in folded for p in PHRASES):
            return f"rule {rule.get('rule_id')}: its name or description is about how someone voted"
    per_occasion = rule.get("per", "occasion") == "occasion"
    if rule.get("basis") == "vote_participation" and (rule.get("conditions") or not per_occasion):
        return f"rule {rule.get('rule_id')}: vote participation takes no conditions and is not per hour"
    if rule.get("per") == "hour" and rule.get("basis") != "volunteer_hours":
        return f"rule {rule.get('rule_id')}: only volunteer hours are per hour"
    return None


class Points:
    """The ledger as domain/points.py folds it, with the auditor's checks before each event."""

    def __init__(self) -> None:
        self.opened, self.vote_participation = False, False
        self.rules: dict = {}
        self.versions: dict = {}
        self.people: dict = {}
        self.awards: dict = {}
        self.deductions: set = set()
        self.occasions: set = set()
        self.hours: dict = {}
        self.items: dict = {}
        self.redemptions: dict = {}
        self.codes: set = set()

    def apply(self, kind: str, p: dict) -> None:
        if not self.opened and kind != "LedgerOpened":
            raise LedgerProblem(f"{kind} before LedgerOpened")
        handler = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", kind).lower(), None)
        if handler is not None:
            handler(p)
        for person, account in self.people.items():
            if account["points"] < 0 or account["pioneer"] < 0:
                raise LedgerProblem(f"{person}'s balance goes below zero ({account['points']})")

    def _ledger_opened(self, p: dict) -> None:
        self.opened = True

    def _vote_participation_set(self, p: dict) -> None:
        self.vote_participation = bool(p.get("enabled"))

    def _rule_set(self, p: dict) -> None:
        rule = p["rule"]
        problem = rule_problem(rule)
        if problem:
            raise LedgerProblem(problem)
        if rule.get("basis") == "vote_participation" and not self.vote_participation:
            raise LedgerProblem(f"rule {rule['rule_id']} counts vote participation while it is turned off")
        current = self.rules.get(rule["rule_id"])
        if p["version"] != (current["version"] + 1 if current else 1):
            raise LedgerProblem(f"rule {rule['rule_id']} version {p['version']} out of order")
        self.rules[rule["rule_id"]] = {"rule": rule, "version": p["version"], "retired": False}
        self.versions[(rule["rule_id"], p["version"])] = rule

    def _rule_retired(self, p: dict) -> None:
        self.rules[p["rule_id"]]["retired"] = True

    def _person_registered(self, p: dict) -> None:
        self.people[p["person_id"]] = {"kind": p["kind"], "points": 0, "pioneer": 0}

    def _person_kind_changed(self, p: dict) -> None:
        self.people[p["person_id"]]["kind"] = p["kind"]

    def _person(self, person: str) -> dict:
        if person not in self.people:
            raise LedgerProblem(f"person {person} was never registered")
        return self.people[person]

    def _hours(self, person: str, source: dict | None, rule: dict, minutes: int, points: int, pioneer: int) -> None:
        if not source:
            raise LedgerProblem("hours without the activity they are for")
        key = (person, f"{source['kind']}:{source['ref']}")
        credit = self.hours.setdefault(key, [0, 0, 0, rule])  # the rule of the first credit rules the source
        rule = credit[3]
        total = credit[0] + minutes
        party = self.people[person]["kind"] in PARTY
        expected = (total * rule["points"] // 60, total * rule.get("pioneer", 0) // 60 if party else 0)
        if total < 0 or (credit[1] + points, credit[2] + pioneer) != expected:
            raise LedgerProblem(f"{total} minutes of {key[1]} are worth {expected[0]} points, the ledger would hold "
                                f"{credit[1] + points}")
        credit[:3] = [total, credit[1] + points, credit[2] + pioneer]

    def _points_awarded(self, p: dict) -> None:
        account = self._person(p["person_id"])
        rule = self.versions.get((p["rule_id"], p["rule_version"]))
        if rule is None or p["award_id"] in self.awards or p["award_id"] in self.deductions:
            raise LedgerProblem(f"award {p['award_id']}: unknown rule version, or a second time")
        facts = p.get("facts") or {}
        if ballot_reference(facts) or (rule["basis"] == "vote_participation" and facts):
            raise LedgerProblem(f"award {p['award_id']} states facts about a ballot")
        if any(facts.get(k) != v for k, v in (rule.get("conditions") or {}).items()):
            raise LedgerProblem(f"award {p['award_id']} does not state its rule's conditions")
        if rule.get("per") == "hour":
            self._hours(p["person_id"], p.get("source"), rule, p["quantity"], p["points"], p.get("pioneer", 0))
        else:
            current = self.rules[p["rule_id"]]
            source = p.get("source")
            if current["retired"] or current["version"] != p["rule_version"]:
                raise LedgerProblem(f"award {p['award_id']} under a rule version not in force")
            named = bool(source) and source.get("kind") == "deliberation" and p["quantity"] == 1
            if rule["basis"] == "vote_participation" and not (self.vote_participation and named):
                raise LedgerProblem(f"award {p['award_id']} for vote participation while it is off")
            if source:
                key = (p["rule_id"], p["person_id"], f"{source['kind']}:{source['ref']}")
                if key in self.occasions:
                    raise LedgerProblem(f"award {p['award_id']} for {key[2]} a second time")
                self.occasions.add(key)
            party = account["kind"] in PARTY
            expected = (rule["points"] * p["quantity"], rule.get("pioneer", 0) * p["quantity"] if party else 0)
            if (p["points"], p.get("pioneer", 0)) != expected:
                raise LedgerProblem(f"award {p['award_id']} gives {p['points']} points; its rule gives {expected[0]}")
        account["points"] += p["points"]
        account["pioneer"] += p.get("pioneer", 0)
        self.awards[p["award_id"]] = [p["person_id"], p["points"], False]

    def _points_deducted(self, p: dict) -> None:
        account = self._person(p["person_id"])
        if p["deduction_id"] in self.deductions or p["deduction_id"] in self.awards:
            raise LedgerProblem(f"deduction {p['deduction_id']} a second time")
        if p.get("reverses"):
            award = self.awards.get(p["reverses"])
            if not award or award[0] != p["person_id"] or award[2] or award[1] != p["points"]:
                raise LedgerProblem(f"deduction {p['deduction_id']} does not match award {p['reverses']}")
            award[2] = True
        source = p.get("source")
        if source and p.get("quantity"):
            key = (p["person_id"], f"{source['kind']}:{source['ref']}")
            if key not in self.hours:
                raise LedgerProblem(f"deduction {p['deduction_id']} of hours never credited")
            self._hours(p["person_id"], source, self.hours[key][3], -p["quantity"], -p["points"], -p.get("pioneer", 0))
        self.deductions.add(p["deduction_id"])
        account["points"] -= p["points"]
        account["pioneer"] -= p.get("pioneer", 0)

    def _item_listed(self, p: dict) -> None:
        if p["item"]["item_id"] in self.items:
            raise LedgerProblem(f"item {p['item']['item_id']} listed twice")
        self.items[p["item"]["item_id"]] = [p["item"]["cost"], p["stock"], False]

    def _stock_added(self, p: dict) -> None:
        self.items[p["item_id"]][1] += p["quantity"]

    def _item_withdrawn(self, p: dict) -> None:
        self.items[p["item_id"]][2] = True

    def _redeemed(self, p: dict) -> None:
        account, item = self._person(p["person_id"]), self.items.get(p["item_id"])
        if item is None or item[2] or item[1] < 1:
            raise LedgerProblem(f"redemption {p['redemption_id']} of {p['item_id']} with none in stock")
        if p["cost"] != item[0] or p["redemption_id"] in self.redemptions or p["code_sha256"] in self.codes:
            raise LedgerProblem(f"redemption {p['redemption_id']}: wrong price, or a second time")
        item[1] -= 1
        account["points"] -= p["cost"]
        self.redemptions[p["redemption_id"]] = [p["person_id"], p["item_id"], p["cost"], "reserved"]
        self.codes.add(p["code_sha256"])

    def _waiting(self, redemption_id: str) -> list:
        found = self.redemptions.get(redemption_id)
        if found is None or found[3] != "reserved":
            raise LedgerProblem(f"redemption {redemption_id} is not waiting to be handed over")
        return found

    def _redemption_handed_over(self, p: dict) -> None:
        self._waiting(p["redemption_id"])[3] = "handed_over"

    def _redemption_cancelled(self, p: dict) -> None:
        found = self._waiting(p["redemption_id"])
        found[3] = "cancelled"
        self.items[found[1]][1] += 1
        self.people[found[0]]["points"] += found[2]


def _minutes(start: datetime, end: datetime, check_in: datetime, check_out: datetime) -> int:
    return max(0, (min(check_out, end) - max(check_in, start)) // timedelta(minutes=1))


def volunteers_problem(rows: list[dict]) -> tuple:
    """(seq, what) of the first volunteer event that does not follow from those before it, or (None, None)."""
    teams, activities = set(), {}
    for row in rows:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind == "TeamFormed":
            teams.add(p["team_id"])
        elif kind in ("MemberJoined", "MemberLeft", "ActivityScheduled") and p["team_id"] not in teams:
            return seq, f"{kind} names team {p['team_id']}, never formed"
        if kind == "ActivityScheduled":
            activities[p["activity_id"]] = {"start": instant(p["starts_at"]), "end": instant(p["ends_at"]),
                                            "capacity": p["capacity"], "signed": set(), "in": {}, "out": set()}
            continue
        if kind not in ("SignedUp", "SignUpWithdrawn", "CheckedIn", "CheckedOut", "HoursRecorded",
                        "ActivityCancelled"):
            continue
        act = activities.get(p["activity_id"])
        if act is None:
            return seq, f"{kind} names activity {p['activity_id']}, never scheduled"
        person = p.get("person_id")
        if kind == "SignedUp":
            if person not in act["signed"] and len(act["signed"]) >= act["capacity"]:
                return seq, f"{person} signed up for {p['activity_id']} beyond its capacity {act['capacity']}"
            act["signed"].add(person)
        elif kind == "SignUpWithdrawn":
            act["signed"].discard(person)
        elif kind == "CheckedIn":
            if person not in act["signed"]:
                return seq, f"{person} checked in to {p['activity_id']} without a sign-up"
            act["in"][person] = instant(p["time"])
        elif kind == "CheckedOut":
            arrived, left = act["in"].get(person), instant(p["time"])
            if arrived is None or person in act["out"] or left < arrived:
                return seq, f"{person} checked out of {p['activity_id']} without a check-in before it"
            expected = _minutes(act["start"], act["end"], arrived, left)
            if p["minutes"] != expected:
                return seq, (f"{person}'s stay at {p['activity_id']} counts {expected} minutes, the check-out "
                             f"records {p['minutes']}")
            act["out"].add(person)
    return None, None


def _ratio(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def appraisal_recount(opened: dict, ratings: dict[str, dict]) -> dict:
    """The result as domain/appraisal.py ``compute_result`` writes it, counted here with exact fractions."""
    areas, _ = electorate(opened["roll"], opened.get("scope") or {})
    by_area = opened.get("owner_weight", "headcount") == "area"
    weights = {o: Fraction(areas[o]) if by_area else Fraction(1) for o in ratings}
    items = []
    for item in opened["items"]:
        total = sum((weights[o] for o in ratings), Fraction(0))
        weighted = sum((weights[o] * r[item["item_id"]] for o, r in ratings.items()), Fraction(0))
        mean = weighted / total if total else None
        items.append({"item_id": item["item_id"], "weight": item["weight"], "ratings": len(ratings),
                      "weight_total": _ratio(total), "weighted_sum": _ratio(weighted), "mean": _ratio(mean),
                      "score": _ratio(None if mean is None else mean * 20)})
    scored = [(i["weight"], fraction(i["score"])) for i in items if i["score"] is not None]
    score = sum(w * s for w, s in scored) / sum(w for w, _ in scored) if scored else None
    return {"owner_weight": opened.get("owner_weight", "headcount"), "eligible": len(areas), "raters": len(ratings),
            "eligible_area": decimal_str(sum(areas.values(), Decimal(0))),
            "rated_area": decimal_str(sum((areas[o] for o in ratings), Decimal(0))),
            "participation": _ratio(Fraction(len(ratings), len(areas)) if areas else None), "items": items,
            "score": _ratio(score)}


def appraisal_problem(rows: list[dict]) -> tuple:
    """(seq, what) of the first appraisal event that does not follow, or (None, None); the recount as a third."""
    opened, ratings, closed, recount = None, {}, False, None
    for row in rows:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind == "AppraisalOpened":
            if opened is not None:
                return seq, "a second AppraisalOpened", None
            if roll_digest(p["roll"]) != p["roll_digest"]:
                return seq, "the appraisal's roll does not match its digest", None
            opened, areas = p, electorate(p["roll"], p.get("scope") or {})[0]
        elif kind == "RatingGiven":
            at, owner = instant(p["at"]), p["owner_id"]
            if opened is None or closed or at >= instant(opened["closes_at"]) or at < instant(opened["opens_at"]):
                return seq, f"rating of owner {owner} outside the appraisal's window", None
            items = sorted(i["item_id"] for i in opened["items"])
            if owner not in areas or owner in ratings or sorted(p["scores"]) != items or any(
                    v not in (1, 2, 3, 4, 5) for v in p["scores"].values()):
                return seq, f"rating of owner {owner}: not on the roll, a second one, or not 1-5 on every item", None
            ratings[owner] = p["scores"]
        elif kind == "AppraisalClosed":
            closed = True
        elif kind == "AppraisalResultRecorded":
            recount = appraisal_recount(opened, ratings)
            found = difference(recount, p.get("result"))
            if not closed or found:
                return seq, f"the recorded result differs from the recount — {found}", None
    return None, None, (appraisal_recount(opened, ratings) if opened is not None else None)


def period_dates(period: str) -> tuple:
    match = re.match(r"^(\d{4})(?:Q([1-4])|H([12])|-(0[1-9]|1[0-2]))?$", str(period))
    if match is None:
        raise LedgerProblem(f"cannot read period {period!r}")
    year, quarter, half, month = match.groups()
    first, months = ((int(quarter) - 1) * 3 + 1, 3) if quarter else ((int(half) - 1) * 6 + 1, 6) if half else (
        (int(month), 1) if month else (1, 12))
    end_month = first + months
    return date(int(year), first, 1), date(int(year) + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)


def _classify(score: Fraction | None, tickets: int, t: dict) -> tuple:
    black = []
    if score is not None and score < t["black_below_score"]:
        black.append(f"score below {t['black_below_score']}")
    if tickets >= t["black_min_tickets"]:
        black.append(f"{tickets} tickets (at least {t['black_min_tickets']})")
    if black:
        return "black", black
    if score is not None and score >= t["red_min_score"] and tickets <= t["red_max_tickets"]:
        return "red", [f"score at least {t['red_min_score']}", f"{tickets} tickets (at most {t['red_max_tickets']})"]
    return "none", []


def _until(rows: list[dict], at: datetime) -> list[dict]:
    return [r for r in rows if instant((r.get("payload") or {}).get("at")) <= at]


def expected_list(p: dict, companies: dict, appraisals: dict, attributed: dict, streams: dict) -> list[dict]:
    """The list domain/company_list.py computes for ``p`` (a ListPublished) from the streams as they stood then."""
    at, t = instant(p["at"]), p["thresholds"]
    start, end = period_dates(p["period"])
    results = {}
    for aid, (code, period) in appraisals.items():
        recorded = [r for r in _until(streams.get(aid, []), at) if r.get("type") == "AppraisalResultRecorded"]
        if recorded and period == p["period"] and recorded[0]["payload"]["result"].get("score") is not None:
            result = recorded[0]["payload"]["result"]
            results[aid] = (code, fraction(result["score"]), fraction(result.get("participation")) or Fraction(0))
    entries = []
    for code in sorted(companies):
        mine = sorted((aid, score, part) for aid, (c, score, part) in results.items() if c == code)
        counted = [m for m in mine if m[2] >= fraction(t["min_participation"])]
        score = sum((m[1] for m in counted), Fraction(0)) / len(counted) if counted else None
        filed = []
        for ticket, c in sorted(attributed.items()):
            rows = _until(streams.get(ticket, []), at)
            opened = [instant(r["payload"]["at"]) for r in rows if r.get("type") == "EscalationOpened"]
            if c == code and opened and not any(r.get("type") == "Cancelled" for r in rows) and (
                    start <= opened[0].astimezone(timezone(timedelta(hours=8))).date() < end):
                filed.append(ticket)
        name, reasons = _classify(score, len(filed), t)
        entries.append({"credit_code": code, "name": companies[code], "list": name, "score": _ratio(score),
                        "appraisals": [m[0] for m in counted], "excluded": [m[0] for m in mine if m not in counted],
                        "tickets": filed, "reasons": reasons})
    return entries


def register_problem(rows: list[dict], streams: dict) -> tuple:
    """(seq, what) of the first published list that differs from its recomputation, or (None, None); and the
    number of lists checked."""
    companies, appraisals, attributed, lists = {}, {}, {}, 0
    for row in rows:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind == "CompanyRegistered":
            companies[p["company"]["credit_code"]] = p["company"]["name"]
        elif kind == "AppraisalScheduled":
            appraisals[p["appraisal_id"]] = (p["credit_code"], p["period"])
        elif kind == "TicketAttributed":
            attributed.setdefault(p["ticket_id"], p["credit_code"])
        elif kind == "ListPublished":
            found = difference(expected_list(p, companies, appraisals, attributed, streams), p.get("entries"))
            if found:
                return seq, f"the {p['period']} red/black list differs from its recomputation — {found}", lists
            lists += 1
    return None, None, lists


def check_ledger(stream_id: str, rows: list[dict], streams: dict, witnesses: list[Witness]) -> Check | None:
    kind = LEDGER_FIRST.get(rows[0].get("type")) if rows else None
    if kind is None:
        return None
    try:
        if kind == "points":
            ledger = Points()
            for row in rows:
                try:
                    ledger.apply(row.get("type"), row.get("payload") or {})
                except LedgerProblem as exc:
                    return Check("ledger", False, f"seq {row.get('seq')}: {exc}", stream_id, row.get("seq"))
            detail = (f"points ledger replays: {len(ledger.people)} people, {len(ledger.redemptions)} redemptions, "
                      "no balance or stock below zero, awards as their rules give, no rule about ballot content")
        elif kind == "volunteers":
            seq, problem = volunteers_problem(rows)
            if problem:
                return Check("ledger", False, f"seq {seq}: {problem}", stream_id, seq)
            detail = "volunteer record replays: capacities kept, every check-out counting its stay"
        elif kind == "appraisal":
            seq, problem, recount = appraisal_problem(rows)
            if problem:
                return Check("ledger", False, f"seq {seq}: {problem}", stream_id, seq)
            for w in witnesses:
                if w.stream_id == stream_id and w.activity == "close_appraisal" and difference(recount, w.results):
                    return Check("ledger", False, f"the result published by close_appraisal ({w.where}) differs — "
                                 f"{difference(recount, w.results)}", stream_id, w.seq)
            detail = f"appraisal recount: score {recount and recount['score']}, one rating per owner"
        else:
            seq, problem, lists = register_problem(rows, streams)
            if problem:
                return Check("ledger", False, f"seq {seq}: {problem}", stream_id, seq)
            detail = f"{lists} published red/black lists equal their recomputation"
    except (KeyError, TypeError, ValueError, ArithmeticError, CountError, LedgerProblem) as exc:
        return Check("ledger", False, f"the {kind} events cannot be read: {exc!r}", stream_id)
    return Check("ledger", True, detail, stream_id)


# ---- kept histories (domain/kept.py, yishi/services/audit_kept.py) ---------------------------------------


def published_hashes(streams: dict[str, list[dict]]) -> list[tuple[str, str, str, str]]:
    """(workflow id, run id, sha256, where) of every kept history a stream publishes."""
    found = []
    for stream_id, rows in streams.items():
        for row in rows:
            kind, payload = row.get("type"), row.get("payload") or {}
            refs = [payload] if kind == "HistoryKept" else \
                list(payload.get("histories") or []) if kind == "NoticePublished" else []
            for ref in refs:
                if isinstance(ref, dict) and all(k in ref for k in ("workflow_id", "run_id", "sha256")):
                    found.append((str(ref["workflow_id"]), str(ref["run_id"]), str(ref["sha256"]),
                                  f"{kind} {stream_id} seq {row.get('seq')}"))
    return found


def check_kept(deliberation_id: str, root: Path, manifest: dict, streams: dict[str, list[dict]]) -> Check:
    """Each published hash of a kept history is the sha256 of that run's history file in the export."""
    files = {(str(r.get("workflow_id")), str(r.get("run_id"))): r for r in manifest.get("runs", [])}
    published, problems = published_hashes(streams), []
    for workflow_id, run_id, sha, where in published:
        run = files.get((workflow_id, run_id))
        if run is None:
            problems.append((workflow_id, f"{where} publishes sha256 {short(sha)} for {workflow_id} run {run_id}, "
                                          "of which the export has no history"))
            continue
        try:
            actual = hashlib.sha256((root / str(run.get("file"))).read_bytes()).hexdigest()
        except OSError as exc:
            problems.append((workflow_id, f"{run.get('file')}: {exc}"))
            continue
        if actual != sha:
            problems.append((workflow_id, f"{where} publishes sha256 {short(sha)} for {workflow_id} run {run_id}, "
                                          f"whose history {run.get('file')} hashes to {short(actual)}"))
    if problems:
        return Check("kept_histories", False, f"{problems[0][1]}; {len(problems)} problems with kept histories",
                     problems[0][0])
    kept = sum(1 for r in manifest.get("runs", []) if r.get("source") == "kept")
    return Check("kept_histories", True, f"{len(published)} published hashes match the exported histories; {kept} "
                 "histories exported from their kept copy", deliberation_id)


# ---- personal links (domain/link_events.py, yishi/services/audit_links.py) --------------------------------


def utc_text(text: Any) -> str:
    """An instant as docs/log-format.md writes it (UTC, six fractional digits, Z)."""
    value = instant(str(text)).astimezone(timezone.utc)  # noqa: UP017 - Python 3.9
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_ledger(stream_id: str, rows: list[dict]) -> tuple[dict[tuple, dict], list[dict]]:
    """((owner, generation) -> the act that made that link, the acts after the first issue) of one stream."""
    made: dict[tuple, dict] = {}
    acts: list[dict] = []
    last_issue: dict | None = None
    for row in rows:
        kind, p = row.get("type"), row.get("payload") or {}
        if kind not in LINK_TYPES:
            continue
        act = {"stream_id": stream_id, "seq": row.get("seq"), "at": utc_text(p.get("at")), "by": p.get("by"),
               "via": p.get("via")}
        if kind == "LinksIssued":
            if p.get("part", 1) > 1 and last_issue is not None and last_issue["by"] == act["by"]:
                act = last_issue
            else:
                act["kind"], last_issue = "issued", act
            for entry in p.get("links") or []:
                made[(entry.get("owner_id"), entry.get("generation"))] = act
        elif kind == "LiveLinksDisclosed":
            previous = acts[-1] if acts else None
            if (p.get("part", 1) > 1 and previous is not None and previous["kind"] == "disclosed"
                    and previous["by"] == act["by"]):
                previous["households"] += len(p.get("owners") or [])
            else:
                acts.append(act | {"kind": "disclosed", "format": p.get("format"),
                                   "households": len(p.get("owners") or [])})
        else:
            act |= {"kind": "reissued" if kind == "LinkReissued" else "revoked", "owner_id": p.get("owner_id"),
                    "generation": p.get("generation"), "reason": p.get("reason", "")}
            acts.append(act)
            if kind == "LinkReissued":
                made[(p.get("owner_id"), p.get("generation"))] = act
    return made, acts


def deliberation_of(stream_id: str) -> str:
    head, mark, rnd = stream_id.rpartition(ROUND_MARK)
    return head if mark and head and rnd.isdigit() and int(rnd) > 1 else stream_id


def _public(act: dict) -> dict:
    return {k: v for k, v in act.items() if k != "kind"}


def check_links(deliberation_id: str, streams: dict[str, list[dict]]) -> tuple[Check, dict]:
    ledgers = {s: link_ledger(s, rows) for s, rows in streams.items()}
    reissued, untraced = [], []
    for stream_id, rows in streams.items():
        places = [s for s in dict.fromkeys((stream_id, deliberation_of(stream_id))) if s in ledgers]
        for row in rows:
            p = row.get("payload") or {}
            generation = p.get("link_generation") if row.get("type") == "BallotCast" else None
            if not isinstance(generation, int) or isinstance(generation, bool):
                continue
            holder = str(p.get("cast_by") or p.get("owner_id"))
            act = next((ledgers[s][0][(holder, generation)] for s in places if (holder, generation) in ledgers[s][0]),
                       None)
            ballot = {"stream_id": stream_id, "seq": row.get("seq"), "owner_id": p.get("owner_id"),
                      "cast_by": p.get("cast_by"), "link_generation": generation}
            if act is None:
                if any(ledgers[s][0] for s in places):
                    untraced.append(ballot)
            elif act["kind"] == "reissued":
                reissued.append(ballot | {"reissued_at": act["at"], "reissued_by": act["by"],
                                          "reissued_via": act["via"], "reissue_seq": act["seq"]})
    acts = [a for _, (_, found) in ledgers.items() for a in found]
    section = {
        "issued": sum(1 for made, _ in ledgers.values() for a in made.values() if a["kind"] == "issued"),
        "reissues": [_public(a) for a in acts if a["kind"] == "reissued"],
        "revocations": [_public(a) for a in acts if a["kind"] == "revoked"],
        "disclosures": [_public(a) for a in acts if a["kind"] == "disclosed"],
        "reissued_ballots": reissued, "untraced_ballots": untraced,
    }
    if untraced:
        first = untraced[0]
        detail = (f"seq {first['seq']}: a ballot of owner {first['owner_id']} came through generation "
                  f"{first['link_generation']} of {first['cast_by'] or first['owner_id']}'s link, which no "
                  f"LinksIssued or LinkReissued records (a link written behind the chain's back); {len(untraced)} "
                  "such ballots")
        return Check("links", False, detail, first["stream_id"], first["seq"]), section
    detail = (f"{section['issued']} links issued, {len(section['reissues'])} reissued and "
              f"{len(section['revocations'])} revoked by staff; {len(reissued)} ballots cast through a reissued "
              f"link; {len(section['disclosures'])} disclosures of live links (prints, downloads)")
    return Check("links", True, detail, deliberation_id), section


def render_links(links: dict) -> list[str]:
    lines = ["Links 投票链接 (what staff did to them 工作人员的操作):"] if links else []
    for r in links.get("reissues", []):
        lines.append(f"  reissued 重新发放: seq {r['seq']} owner {r['owner_id']} generation {r['generation']} "
                     f"by {r['by']} ({r['via']}) at {r['at']}, {r['reason']}")
    for r in links.get("revocations", []):
        lines.append(f"  revoked 作废: seq {r['seq']} owner {r['owner_id']} generation {r['generation']} "
                     f"by {r['by']} ({r['via']}) at {r['at']}, {r['reason']}")
    for b in links.get("reissued_ballots", []):
        lines.append(f"  ballot on a reissued link 经重新发放的链接投票: {b['stream_id']} seq {b['seq']} owner "
                     f"{b['owner_id']}, link generation {b['link_generation']} reissued by {b['reissued_by']} at "
                     f"{b['reissued_at']}")
    for d in links.get("disclosures", []):
        lines.append(f"  live links shown 显示/打印/下载: seq {d['seq']} {d['format']} by {d['by']} ({d['via']}) "
                     f"at {d['at']}, {d['households']} households 户")
    return lines


# ---- a community's structure and joint tickets (issue 19) ---------------------------------------------------

STRUCTURE_TYPES = ("CommunityDefined", "GridDefined", "GridRenamed", "GridRetired", "BuildingAssigned",
                   "WorkerAssigned", "WorkerUnassigned", "PartyOrgDefined", "PartyOrgRetired", "LadderVersioned")
PARTY_PARENT = {"grid_branch": None, "building_group": "grid_branch", "member_household": "building_group"}
PART_EVENTS = ("PartReported", "PartResolved", "PartReleased", "PartDeadlineMissed", "PartEscalated")


def _aware(text: object) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return found if found.tzinfo else None


def _structure_step(kind: str, p: dict, grids: dict, terms: set, party: dict) -> str | None:  # noqa: C901
    code = p.get("code") or p.get("grid")
    if kind == "CommunityDefined":
        return "a second CommunityDefined"
    if kind == "GridDefined":
        if code in grids:
            return f"grid {code} defined twice (codes are never reused)"
        grids[code] = True
    elif kind in ("GridRenamed", "GridRetired", "BuildingAssigned", "WorkerAssigned"):
        if not grids.get(code):
            return f"{kind} names grid {code}, which is not defined or was retired"
        if kind == "GridRetired":
            grids[code] = False
        if kind == "WorkerAssigned":
            terms.add((code, p.get("role"), p.get("person"), p.get("building", "")))
    elif kind == "WorkerUnassigned":
        key = (code, p.get("role"), p.get("person"), p.get("building", ""))
        if key not in terms:
            return f"{p.get('person')} leaves a post in grid {code} they did not hold"
        terms.discard(key)
    elif kind == "PartyOrgDefined":
        want = PARTY_PARENT.get(p.get("kind", ""), "?")
        if want == "?" or (want is None) != (p.get("parent") is None) or (want and party.get(p["parent"]) != want):
            return f"party organisation {p.get('org_id')} ({p.get('kind')}) has parent {p.get('parent')!r}"
        party[p["org_id"]] = p["kind"]
    elif kind == "PartyOrgRetired" and party.pop(p.get("org_id"), None) is None:
        return f"retires party organisation {p.get('org_id')}, which does not exist"
    return None


def structure_problem(stream_id: str, rows: list[dict]) -> tuple[int | None, str] | None:
    """The rules of yishi/services/audit_structure.py ``structure_problem``, with the standard library."""
    community = stream_id[len("structure-"):]
    first = rows[0]
    if first.get("type") != "CommunityDefined" or (first.get("payload") or {}).get("community") != community:
        return first.get("seq"), f"the stream must open with CommunityDefined for {community!r}"
    grids: dict = {}
    terms: set = set()
    party: dict = {}
    version, last_at = 0, _aware(first["payload"].get("at"))
    for row in rows[1:]:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind not in STRUCTURE_TYPES:
            continue
        at = _aware(p.get("at"))
        if at is None or (last_at is not None and at < last_at):
            return seq, f"{kind} is dated {p.get('at')}, before the change recorded before it"
        last_at = at
        problem = _structure_step(kind, p, grids, terms, party)
        if problem:
            return seq, problem
        if kind == "LadderVersioned":
            version += 1
            if (p.get("ladder") or {}).get("version") != version:
                return seq, f"ladder version {(p.get('ladder') or {}).get('version')} where {version} comes next"
    return None


def parts_problem(rows: list[dict]) -> tuple[int | None, str] | None:
    """The rules of yishi/services/audit_structure.py ``parts_problem``, with the standard library."""
    owners: dict = {}
    escalated: set = set()
    whistled = None
    for row in rows:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind == "WhistleBlown":
            whistled = p.get("org")
        elif kind == "PartOpened":
            if whistled is None or p.get("part") != len(owners) + 1:
                return seq, f"part {p.get('part')} opened out of order (or before any whistle)"
            owners[p["part"]] = p.get("org")
        elif kind in PART_EVENTS:
            part = p.get("part")
            if owners.get(part) is None:
                return seq, f"{kind} for part {part}, which is not open"
            actor = p.get("from_org") if kind == "PartEscalated" else p.get("org")
            if kind != "PartReleased" and actor != owners[part]:
                return seq, f"{kind} of part {part} by {actor}, but {owners[part]} owns it"
            if kind == "PartEscalated":
                if part in escalated:
                    return seq, f"part {part} escalated a second time (a part moves up once)"
                escalated.add(part)
                owners[part] = p.get("to_org")
            elif kind in ("PartResolved", "PartReleased"):
                owners[part] = None
        elif kind == "Resolved" and any(o is not None for o in owners.values()):
            return seq, "the ticket was resolved while a part was still open"
    return None


def check_structure(stream_id: str, rows: list[dict]) -> Check | None:
    if not stream_id.startswith("structure-") or not rows:
        return None
    problem = structure_problem(stream_id, rows)
    if problem is not None:
        return Check("structure", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    count = sum(1 for r in rows if r.get("type") in STRUCTURE_TYPES)
    return Check("structure", True, f"{count} structure events hold together", stream_id)


def check_parts(stream_id: str, rows: list[dict]) -> Check | None:
    if not rows or rows[0].get("type") != "EscalationOpened" or not any(r.get("type") == "WhistleBlown"
                                                                         for r in rows):
        return None
    problem = parts_problem(rows)
    if problem is not None:
        return Check("joint_parts", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    return Check("joint_parts", True, f"{sum(1 for r in rows if r.get('type') == 'PartOpened')} parts hold "
                 "together", stream_id)
# ---- meetings (issue 16; the same rules as yishi/services/audit_meetings.py) -------------------------------

MEETING_TYPES = ("MeetingScheduled", "AgendaItemAdded", "PartyInvited", "PositionStated", "AttendanceSigned",
                 "MinutesRecorded", "DecisionRecorded", "ItemVoteCounted", "MeetingHeld", "ConfirmationReopened",
                 "MinutesConfirmed", "MinutesPublished", "MeetingCancelled")


def meeting_tickets(streams: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Tickets a meeting's decisions opened (escalated)."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in streams.items():
        for row in rows:
            payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
            decision = payload.get("decision") if row.get("type") == "DecisionRecorded" else None
            if isinstance(decision, dict) and decision.get("kind") == "escalated":
                if isinstance(decision.get("ticket_id"), str):
                    found.setdefault(decision["ticket_id"], []).append(f"DecisionRecorded {stream_id} seq "
                                                                       f"{row.get('seq')}")
    return found


def invitation_links(rows: list[dict]) -> dict:
    """Invitation link hash -> (holder, when revoked or None)."""
    links: dict = {}
    for row in rows:
        p = row.get("payload") or {}
        if row.get("type") == "CapabilityIssued" and p.get("kind") == "invitation":
            links[p.get("token_sha256")] = (p.get("holder"), None)
        elif (row.get("type") == "CapabilityRevoked" and p.get("kind") == "invitation"
              and p.get("token_sha256") in links):
            links[p["token_sha256"]] = (links[p["token_sha256"]][0], row.get("occurred_at"))
    return links


def link_problem(p: dict, at: str, links: dict) -> Any:
    via = p.get("via")
    if via not in ("link", "door"):
        return None
    holder = "door" if via == "door" else p.get("party_id")
    known = links.get(p.get("link_sha256"))
    if known is None or known[0] != holder:
        return f"acts through a link ({via}) that no CapabilityIssued gave to {holder!r}"
    if known[1] is not None and known[1] <= at:
        return f"acts through a link of {holder!r} revoked at {known[1]}"
    return None


def meeting_problem(stream_id: str, rows: list[dict], series_rows: list[dict]) -> tuple:  # noqa: C901
    """The first way a meeting stream does not hold together, (seq, what), or (None, None)."""
    first = rows[0].get("payload") or {}
    if first.get("meeting_id") != stream_id:
        return rows[0].get("seq"), f"MeetingScheduled names meeting {first.get('meeting_id')!r}, not {stream_id!r}"
    links = {**invitation_links(series_rows), **invitation_links(rows)}
    parties, versions, confirmed = set(), {}, {}
    mv, status, until = 0, "scheduled", None
    for row in rows[1:]:
        kind, p, seq = row.get("type"), row.get("payload") or {}, row.get("seq")
        if kind not in MEETING_TYPES:
            continue
        if status == "cancelled" or (status == "published" and kind != "ItemVoteCounted"):
            return seq, f"{kind} after the meeting was {status}"
        if kind == "MeetingScheduled":
            return seq, "a second MeetingScheduled"
        if kind in ("PositionStated", "AttendanceSigned", "MinutesConfirmed"):
            if p.get("party_id") is not None and p.get("party_id") not in parties:
                return seq, f"{kind} of {p.get('party_id')!r}, a party never invited"
            problem = link_problem(p, str(row.get("occurred_at")), links)
            if problem is not None:
                return seq, f"{kind} {problem}"
        if kind == "PartyInvited":
            parties.add((p.get("party") or {}).get("party_id"))
        elif kind == "AgendaItemAdded":
            versions[p.get("item_id")] = 0
        elif kind in ("MinutesRecorded", "DecisionRecorded"):
            item = p.get("item_id")
            if item not in versions:
                return seq, f"{kind} for item {item!r}, not on the agenda"
            if kind == "MinutesRecorded":
                if p.get("version") != versions[item] + 1:
                    return seq, f"minutes of item {item} as version {p.get('version')}, after {versions[item]}"
                versions[item] += 1
            if p.get("minutes_version") != mv + 1:
                return seq, f"minutes version {p.get('minutes_version')} after {mv} (one step at a time)"
            mv += 1
        elif kind in ("MeetingHeld", "ConfirmationReopened"):
            if p.get("minutes_version") != mv:
                return seq, f"{kind} for minutes version {p.get('minutes_version')}, the current is {mv}"
            status, until = "held", p.get("confirm_until")
        elif kind == "MinutesConfirmed":
            if status != "held" or p.get("minutes_version") != mv:
                return seq, f"confirms minutes version {p.get('minutes_version')} while {mv} is current ({status})"
            confirmed[p.get("party_id")] = mv
        elif kind == "MinutesPublished":
            done = {x for x in parties if confirmed.get(x) == mv}
            if status != "held" or p.get("minutes_version") != mv:
                return seq, f"publishes minutes version {p.get('minutes_version')} while {mv} is current ({status})"
            if set(p.get("confirmed") or ()) != done or set(p.get("unconfirmed") or ()) != parties - done:
                return seq, (f"lists as confirmed {sorted(p.get('confirmed') or ())}, but "
                             f"{sorted(done)} confirmed version {mv} and {sorted(parties - done)} did not")
            early = until is None or instant(str(row.get("occurred_at"))) < instant(str(until))
            if (parties - done) and early:
                return seq, f"published before the window's end ({until}) with {sorted(parties - done)} unconfirmed"
            status = "published"
        elif kind == "MeetingCancelled":
            status = "cancelled"
    return None, None


def check_meeting(stream_id: str, rows: list[dict], streams: dict[str, list[dict]]) -> Check | None:
    if not rows or rows[0].get("type") not in ("MeetingScheduled", "SeriesPlanned"):
        return None
    if rows[0].get("type") == "SeriesPlanned":
        if (rows[0].get("payload") or {}).get("series_id") != stream_id:
            return Check("meeting", False, "seq 1: SeriesPlanned names another series", stream_id, 1)
        held = sum(1 for row in rows if row.get("type") == "OccurrenceScheduled")
        return Check("meeting", True, f"series: {held} meetings scheduled", stream_id)
    series = streams.get(str((rows[0].get("payload") or {}).get("series_id") or ""), [])
    seq, problem = meeting_problem(stream_id, rows, series)
    if problem is not None:
        return Check("meeting", False, f"seq {seq}: {problem}", stream_id, seq)
    counted = sum(1 for row in rows if row.get("type") in MEETING_TYPES)
    return Check("meeting", True, f"{counted} meeting events hold together (none counted as a ballot)", stream_id)


# ---- putting it together ---------------------------------------------------------------------------------


# The files the streams name by SHA-256, kept beside them: (check, event, directory, the files of an event's payload
# as (sha256, what it is in words), the detail when all hold, whether a file may be kept outside Yishi by design).
# The same table as yishi/services/audit_blobs.py SOURCES.
def _ticket_files(p: dict) -> list:
    return [(str(e.get("sha256", "")), f"the attachment {e.get('name')} of ticket {p.get('ticket_id')}")
            for e in p.get("evidence") or () if isinstance(e, dict) and e.get("kind") == "attachment"
            and e.get("sha256")]


BLOB_SOURCES = (
    ("postings", "NoticePosted", "photos",
     lambda p: [(str(p.get("photo_sha256", "")), f"the photo of notice {p.get('notice_id')} posted at "
                 f"{p.get('group')} by {p.get('by')}")],
     "{count} printed notices recorded as posted, each photo matching its hash", False),
    ("documents", "DocumentAttached", "documents",
     lambda p: [(str(p.get("sha256", "")), f"the document {p.get('name')} ({p.get('kind')}) attached by "
                 f"{p.get('by')}")],
     "{count} documents attached for the owners, each file matching its hash", False),
    ("attachments", "EscalationOpened", "attachments", _ticket_files,
     "{count} files attached to escalation tickets, each matching its hash", True),
)


def check_blobs(source: tuple, deliberation_id: str, root: Path, streams: dict[str, list[dict]]) -> Check:
    """Each file the chain names is in the export and hashes to what the chain recorded (a ticket's file named by
    hash only may be kept outside Yishi: counted, not checked)."""
    name, event, directory, files_of, held, kept_elsewhere = source
    found = elsewhere = 0
    for stream_id, rows in streams.items():
        for row in rows:
            if row.get("type") != event:
                continue
            for digest, what in files_of(row.get("payload") or {}):
                found += 1
                path = root / directory / digest
                if not re.fullmatch(r"[0-9a-f]{64}", digest) or not path.is_file():
                    if kept_elsewhere and re.fullmatch(r"[0-9a-f]{64}", digest):
                        elsewhere += 1
                        continue
                    return Check(name, False, f"{what} is not in the export", stream_id, row.get("seq"))
                if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                    return Check(name, False, f"{what} does not hash to the recorded sha256", stream_id,
                                 row.get("seq"))
    detail = held.format(count=found - elsewhere)
    if elsewhere:
        detail += f"; {elsewhere} named by hash only, kept outside Yishi (not checked)"
    return Check(name, True, detail, deliberation_id)


def verify(root: Path, report: dict | None = None) -> tuple[str, list[Check]]:
    """Every check of the export; ``report``, if given, receives the ``links`` section."""
    manifest = _read_json(root / "manifest.json")
    checks = [check_manifest(root, manifest)]
    streams = read_streams(root)
    witnesses = read_witnesses(root, manifest)
    published = published_witnesses(_read_json(root / "result.json"))
    rolls = {r["digest"]: r["entries"] for r in _read_json(root / "roll.json").get("rolls", [])}
    stated = [r for r in _read_json(root / "rule.json").get("rules", []) if isinstance(r, dict)]
    deliberation_id = str(manifest.get("deliberation_id", ""))
    checks.append(check_rules(stated, streams))
    checks.append(check_kept(deliberation_id, root, manifest, streams))
    checks += check_tickets(deliberation_id, streams, manifest)
    names = set(streams) | {w.stream_id for w in witnesses + published} | {str(s) for s in manifest.get("streams", [])}
    for stream_id in sorted(names, key=lambda name: (name != deliberation_id, name)):
        rows = streams.get(stream_id, [])
        seals = [w for w in witnesses if w.activity == "seal_box"] + published
        found = [check_chain(stream_id, rows), check_checkpoints(stream_id, rows, witnesses),
                 check_sealed_head(stream_id, rows, seals), check_after_seal(stream_id, rows),
                 check_roll(stream_id, rows, rolls), check_recount(stream_id, rows, seals),
                 check_topic(stream_id, rows), check_meeting(stream_id, rows, streams),
                 check_ledger(stream_id, rows, streams, witnesses), check_structure(stream_id, rows),
                 check_parts(stream_id, rows)]
        checks += [check for check in found if check is not None]
    try:
        links_check, links = check_links(deliberation_id, streams)
    except (KeyError, TypeError, ValueError, CountError) as exc:  # a link event that cannot be read
        links_check, links = Check("links", False, f"the link events cannot be read: {exc!r}", deliberation_id), {}
    checks.append(links_check)
    checks += [check_blobs(source, deliberation_id, root, streams) for source in BLOB_SOURCES]
    if report is not None:
        report["links"] = links
    return deliberation_id, checks


def render(deliberation_id: str, checks: list[Check], links: dict | None = None) -> str:
    lines = [f"Export of 审计导出 {deliberation_id}"]
    for check in checks:
        subject = f" [{check.subject}]" if check.subject else ""
        lines.append(f"  {'OK  ' if check.ok else 'FAIL'} {check.name}{subject}: {check.detail}")
    lines += render_links(links or {})
    failures = [c for c in checks if not c.ok]
    if not failures:
        lines.append("Result 结论: every check holds 全部核验通过")
    else:
        where = f" at seq {failures[0].seq}" if failures[0].seq is not None else ""
        lines.append(f"Result 结论: FAILED 核验未通过 — {len(failures)} checks fail; first: {failures[0].name}{where} "
                     f"({failures[0].subject})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Yishi audit export (standard library only).")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    extra: dict = {}
    try:
        deliberation_id, checks = verify(args.directory, extra)
    except ExportError as exc:
        print(f"error 错误: {exc}", file=sys.stderr)
        return 2
    ok = bool(checks) and all(check.ok for check in checks)
    if args.json:
        report = {"ok": ok, "deliberation_id": deliberation_id, "checks": [asdict(c) for c in checks],
                  "links": extra.get("links", {}),
                  "verified_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}  # noqa: UP017
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render(deliberation_id, checks, extra.get("links")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
