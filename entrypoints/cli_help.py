"""``tongxiu --help`` in the invocation's language: the commands' docstrings are the English
help; this table gives their Chinese help, put in place before click formats it (options keep
their English help)."""

from __future__ import annotations

from typing import Any

ROOT = (
    "同修 Tongxiu — 跨部门执法决定、整改与信用修复账本。结果输出到标准输出（--json：一个 JSON 文档），"
    "错误输出到标准错误。退出码：0 完成；1 拒绝或校验未通过；2 用法或输入错误；3 提交被后端中止。"
    "时间均为北京时间；--lang en 或 TONGXIU_LANG=en 切换为英文。",
    "同修 Tongxiu — a cross-department ledger for enforcement decisions, rectification and credit repair. "
    "Results on stdout (--json: one JSON document), errors on stderr. Exit codes: 0 done; 1 refused or "
    "verification failed; 2 usage or input error; 3 publish stopped by the backend. Times are China time; "
    "Chinese by default, --lang en or TONGXIU_LANG=en for English.",
)

ZH: dict[str, str] = {
    "keys": "为部门生成 Ed25519 密钥对（DEPT.key 须保密，DEPT.pub 交运维登记）。",
    "sign": "用部门私钥为未签名的提交签名；所补默认值和改写的值列在标准错误上（--exact：有则拒签）。",
    "register": "（运维）登记部门或信用平台及其公钥。",
    "legacy-code": "（运维）登记已知的旧信用代码（不符合 GB 32100-2015），准其开立事项流。",
    "backfill": "（运维）开放补录：准许部门导入历史记录（提交编号以 backfill: 开头）。",
    "publish": "提交已签名的提交（单个 JSON、JSON 列表或 JSON Lines）；有被拒绝的则退出码 1。",
    "inbox": "部门或信用平台待确认的信用修复结果（与 HTTP 收件箱相同）；用 tongxiu ack 确认"
             "（读取修复反馈的信用平台提交反馈位置即为确认，记录的是同一事实）。",
    "ack": "确认收件箱中的投递（记录“修复结果接收确认”，由接收方签名；与信用平台提交修复反馈时记录的是同一事实，"
           "只记一次）；有被拒绝的则退出码 1。",
    "replay": "企业跨部门的完整历史及当时的视图（--as-of 发生时间 / --known-at 记录时间）。",
    "verify": "校验哈希链、序号和每个签名；未通过时退出码 1，并指出第一个有问题的事项。",
    "export": "导出企业的事项（存储原文，JSON Lines），或离线审计包（--bundle）。",
    "credit": "企业的信用记录与信用状况。",
    "notice": "账本对某一处罚决定所要求的信用修复告知书（只计算，不写入）。",
    "first-violation": "首违：该类违法是否为企业在各部门的首次违法。",
    "rectification": "企业的整改事项；各部门未销号的要求并列显示。",
    "sync": "每项修复、每个接收方：待确认、已确认或逾期。",
    "stats": "账本总数与各部门监督指标（含执法监督：案卷评查、亮码率、免罚）。",
    "oversight": "部门的案卷评查、监督意见（未办结 / 逾期）与投诉。",
    "rejections": "被拒绝的提交及其原因。",
    "tick": "记录现在到期的定时事项（可申请修复、公示期满、逾期）。",
    "serve": "启动审计与监督网页及接口服务（API、提交网关、修复结果推送、页面）。",
    "rebuild": "清空全部读模型并从日志重建（结果与增量处理相同）。",
    "examples": "把每类提交的已签名示例写入 docs/examples/。",
    "migrate": "创建 Cassandra 键空间和表及 Kafka 主题（可重复执行）。",
    "worker": "运行分布式工作进程：账本代理与读模型代理（默认受监护，失败后重启）。",
    "demo": "在新的嵌入式账本上演示完整流程并显示结果。",
    "schema": "事项的 JSON Schema。",
    "infra": "本机测试与试用的 Kafka 和 Cassandra（不用于生产）。",
    "checkpoint": "现在为透明日志签署并记录一个检查点（树大小、根、时间）。",
    "proof": "输出包含证明（--leaf）或一致性证明（--first），JSON 格式。",
    "cosign": "见证方在确认检查点延续上一个之后联署。",
    "audit": "用部门保存的回执和检查点核对账本；缺失或被改的事实均列出，退出码 1。",
    "verify-log": "核对每个已存事项和拒绝记录都是透明日志中的叶子。",
    "verify-bundle": "离线校验审计包（无需访问账本）。",
    "rotate-key": "（运维）登记部门的新公钥（登记簿事项）。",
    "revoke-key": "（运维）吊销部门密钥；之后用它签名的提交以 key_revoked 拒绝。",
    "rotate-ledger-key": "（运维）生成新的账本密钥，由旧密钥签名公告。",
    "export-schema": "把每个事项和提交的 JSON Schema 写入 docs/schemas/。",
    "up": "启动（或复用）本机 Kafka 和 Cassandra。",
    "down": "停止本状态目录启动的本机服务器。",
    "status": "报告本机服务器是否在运行并应答。",
}


def localize(group: Any, lang: str) -> None:
    """Put the help of ``group`` (built afresh by typer for each invocation), its commands and
    sub-groups in Chinese when ``lang`` is zh; the docstrings are the English."""
    group.help = ROOT[0] if lang == "zh" else ROOT[1]
    if lang == "zh":
        _walk(group, top=True)


def _walk(group: Any, *, top: bool) -> None:
    for name, command in getattr(group, "commands", {}).items():
        zh = ZH.get("export-schema" if (name == "export" and not top) else name)
        if zh:
            command.help = zh
        _walk(command, top=False)
