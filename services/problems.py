"""The problems ``tongxiu audit``, ``verify-log``, ``verify-bundle`` and ``verify`` report, as data:
a stable code (what tests and scripts match), the parameters naming the fact (stream, seq, event
type, leaf …), and the text a person reads, Chinese by default and English with ``lang="en"``
(the pattern of :class:`tongxiu.projections.basis_text.Text`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from tongxiu.events.labels import event_type_name
from tongxiu.projections.basis_text import Text

PROBLEM_TEXTS: dict[str, str] = {
    # what a problem is about
    "checkpoint": "{time} 的检查点（规模 {size}，根 {root}）",
    "receipted_event": "{stream} 第 {seq} 号事件 {type}（{event_id}，提交 {submission_id}）",
    "receipted_rejection": "{department}/{submission_id} 的拒绝记录（{codes}）",
    # tongxiu audit: checkpoints
    "current_checkpoint_unsigned": "账本当前的检查点不是由受信任的账本密钥（{key}…）签署的",
    "not_witnessed": "没有一个留存的检查点得到足够见证：联署最多的只有 {best} 个，要求 {require} 个见证联署",
    "checkpoint_unsigned": "{checkpoint}：签名不能用受信任的账本密钥验证通过",
    "truncated": "{checkpoint}：日志现在只有 {size} 个叶子——日志被截短",
    "no_consistency_proof": "{checkpoint}：账本给不出到规模 {size} 的一致性证明",
    "history_rewritten": "{checkpoint}：当前日志（规模 {size}）不是它的延续——历史被改写",
    # tongxiu audit: receipted facts
    "missing": "缺失：{what}已不在日志中",
    "leaf_missing": "缺失：{what}：叶子 {index} 超出日志现有的 {size} 个叶子",
    "replaced": "已改动：{what}：该位置现在是另一个事件（{other}）",
    "hash_changed": "已改动：{what}：哈希 {recomputed} ≠ 回执记载的 {receipted}",
    "rejection_changed": "已改动：{what}与回执记载的不再一致",
    "not_leaf": "已改动：{what}不是当前日志的第 {index} 号叶子",
    # tongxiu verify-log
    "leaf_gap": "树中缺少第 {index} 号叶子",
    "event_not_in_log": "叶子 {index}：事件 {event_id} 已不在日志中",
    "event_differs": "叶子 {index}：事件 {event_id}（{stream} 第 {seq} 号）与记入日志时不同",
    "rejection_gone": "叶子 {index}：拒绝记录 {ref} 已不在记录中（被删除或改写）",
    "rejection_differs": "叶子 {index}：{what} 的拒绝记录与记入日志时不同",
    "node_wrong": "存储的节点（层 {level}，序号 {index}）不是其下叶子的哈希：证明会出错",
    "event_not_leaf": "事件 {event_id}（{stream} 第 {seq} 号）不是日志的叶子",
    "rejection_not_leaf": "{what} 的拒绝记录不是日志的叶子",
    "head_wrong": "存储的树头（规模 {size}）不是所存 {leaves} 个叶子的根",
    # tongxiu verify and verify-bundle: the chains
    "not_a_bundle": "不是 {format} 格式的审计包",
    "bundle_checkpoint_unsigned": "审计包的检查点不是由账本密钥签署的",
    "given_checkpoint_unsigned": "给出的检查点不是由审计包的账本密钥签署的",
    "other_checkpoint": "审计包是相对于规模 {size}、根 {root} 证明的，不是给出的检查点（规模 {given_size}，根 "
    "{given_root}）：请用 --at 该检查点重新导出",
    "out_of_place": "{stream} 第 {seq} 号：应为 {stream} 第 {expected} 号",
    "sequence_gap": "序号不连续：应为 {expected}，实为 {found}",
    "hash_mismatch": "{where}哈希与事件内容不符（已被改动）",
    "prev_hash_mismatch": "{where}前一哈希与链不符",
    "bootstrap_key": "{where}初始登记的账本密钥不是检查点的密钥",
    "unregistered": "{where}部门 {department} 未登记",
    "no_valid_key": "{where}记录时 {department} 没有有效的密钥",
    "signature_invalid": "{where}{department} 的签名验证未通过",
    "bundle_not_leaf": "{stream} 第 {seq} 号：不是检查点所证日志的第 {index} 号叶子",
    "at": "{stream} 第 {seq} 号：",
    # tongxiu verify --projections
    "only_stored": "{path}：只在存储的读模型中有",
    "only_rebuilt": "{path}：只在重建结果中有",
    "projection_differs": "{path}：存储的是 {stored}，重建的是 {rebuilt}",
    # tongxiu export --bundle: why no bundle can be written
    "no_transparency_log": "{backend} 后端不保存透明日志，无法导出审计包",
    "log_shorter_than_checkpoint": "日志的叶子少于检查点的 {size} 个，无法相对于它导出审计包",
    "checkpoint_root_differs": "日志在规模 {size} 时的根不是检查点的根，无法相对于它导出审计包",
}

PROBLEM_TEXTS_EN: dict[str, str] = {
    "checkpoint": "checkpoint of {time} (size {size}, root {root})",
    "receipted_event": "{stream} #{seq} {type} ({event_id}, submission {submission_id})",
    "receipted_rejection": "rejection of {department}/{submission_id} ({codes})",
    "current_checkpoint_unsigned": "the ledger's current checkpoint is not signed by the trusted ledger key ({key}…)",
    "not_witnessed": "no kept checkpoint is witnessed: the most cosigned has {best} of the {require} required "
    "witness cosignatures",
    "checkpoint_unsigned": "{checkpoint}: signature does not verify with the trusted ledger key",
    "truncated": "{checkpoint}: the log now has only {size} leaves — truncated",
    "no_consistency_proof": "{checkpoint}: no consistency proof: {error}",
    "history_rewritten": "{checkpoint}: the current log (size {size}) is not an extension of it — history rewritten",
    "missing": "missing: {what} is no longer in the log",
    "leaf_missing": "missing: {what}: leaf {index} is beyond the log's {size} leaves",
    "replaced": "changed: {what}: another event ({other}) now sits at that place",
    "hash_changed": "changed: {what}: hash {recomputed} ≠ receipted {receipted}",
    "rejection_changed": "changed: {what} is no longer recorded as receipted",
    "not_leaf": "changed: {what} is not leaf {index} of the current log",
    "leaf_gap": "leaf {index} missing from the tree",
    "event_not_in_log": "leaf {index}: event {event_id} is no longer in the log",
    "event_differs": "leaf {index}: event {event_id} ({stream} #{seq}) differs from what was logged",
    "rejection_gone": "leaf {index}: rejection {ref} is no longer recorded (deleted or rewritten)",
    "rejection_differs": "leaf {index}: rejection of {what} differs",
    "node_wrong": "stored node (level {level}, index {index}) is not the hash of its leaves: proofs would be wrong",
    "event_not_leaf": "event {event_id} ({stream} #{seq}) is not a leaf of the log",
    "rejection_not_leaf": "rejection of {what} is not a leaf of the log",
    "head_wrong": "the stored tree head (size {size}) is not the root of the stored leaves ({leaves})",
    "not_a_bundle": "not a {format} bundle",
    "bundle_checkpoint_unsigned": "the bundle's checkpoint is not signed by the ledger key",
    "given_checkpoint_unsigned": "the given checkpoint is not signed by the bundle's ledger key",
    "other_checkpoint": "the bundle is proved against size {size} root {root}, not the given checkpoint "
    "(size {given_size} root {given_root}): export it with --at that checkpoint",
    "out_of_place": "{stream} #{seq}: expected {stream} #{expected}",
    "sequence_gap": "sequence gap: expected {expected}, found {found}",
    "hash_mismatch": "{where}hash does not match the stored event (altered)",
    "prev_hash_mismatch": "{where}previous hash does not match the chain",
    "bootstrap_key": "{where}the ledger key registered at bootstrap is not the checkpoint's key",
    "unregistered": "{where}department {department} is not registered",
    "no_valid_key": "{where}no key of {department} was valid when it was recorded",
    "signature_invalid": "{where}signature of {department} does not verify",
    "bundle_not_leaf": "{stream} #{seq}: not leaf {index} of the checkpointed log",
    "at": "{stream} #{seq}: ",
    "only_stored": "{path}: only in the stored read model",
    "only_rebuilt": "{path}: only in the rebuild",
    "projection_differs": "{path}: stored {stored} ≠ rebuilt {rebuilt}",
    "no_transparency_log": "the {backend} backend keeps no transparency log",
    "log_shorter_than_checkpoint": "the log has fewer than the checkpoint's {size} leaves",
    "checkpoint_root_differs": "the log at size {size} does not have the checkpoint's root",
}


@dataclass(frozen=True)
class EventType:
    """An event type as a person reads it: 行政处罚决定书 / the English name."""

    type: str

    def text(self, lang: str = "zh") -> str:
        return event_type_name(self.type, lang)


@dataclass(frozen=True)
class Problem(Text):
    """One problem an audit or a verification found: ``code`` (stable, e.g. ``missing``,
    ``truncated``, ``history_rewritten``, ``hash_mismatch``) and what it is about."""

    ZH: ClassVar[dict[str, str]] = PROBLEM_TEXTS
    EN: ClassVar[dict[str, str]] = PROBLEM_TEXTS_EN

    def about(self) -> dict[str, Any]:
        """Every parameter, nested ones flattened (``stream``, ``seq``, ``type`` of the fact)."""
        out: dict[str, Any] = {}
        for k, v in self.params.items():
            if isinstance(v, Text):
                out.update(v.params if not isinstance(v, Problem) else v.about())
            else:
                out[k] = v.type if isinstance(v, EventType) else v
        return out

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable form (``--json``): code, what it is about, and both texts."""
        return {"code": self.code, "about": {k: v if isinstance(v, int | None) else str(v)
                                             for k, v in self.about().items()},
                "message": self.text("zh"), "message_en": self.text("en")}


def problem(code: str, **params: Any) -> Problem:
    return Problem(code, params)


def checkpoint_label(time: str, size: int, root: str) -> Problem:
    return problem("checkpoint", time=time, size=size, root=root[:12])


def at(stream: str, seq: object) -> Problem:
    """``{stream} 第 {seq} 号：`` before a chain problem found in a bundle."""
    return problem("at", stream=stream, seq=seq)


class ProblemError(ValueError):
    """A refusal that names a :class:`Problem` (e.g. ``tongxiu export --bundle`` against a
    checkpoint the log does not extend): ``str()`` is the Chinese text, :meth:`text` either."""

    def __init__(self, found: Problem) -> None:
        super().__init__(found.text("zh"))
        self.problem = found

    def text(self, lang: str = "zh") -> str:
        return self.problem.text(lang)
