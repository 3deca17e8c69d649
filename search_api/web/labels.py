"""Every Chinese word the web UI shows, in one table: templates name labels, never write them.

Sources reuse the registry labels of the entity cards (search_api.models.cards.SOURCE_LABELS);
a record's fields are named by their column header in the source definitions
(registry.sources), so a page shows the words the registries use. Templates receive this
module's tables as ``L`` (see search_api.web.templating).
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import Final

from accounts.roles import Permission, Role, role_rules
from common.vocab import Source, Tier
from comparison.definitions import shipped_catalogue
from comparison.store import RunState
from graph.model import EdgeKind, NodeKind
from query_logs.applications import Category, State, SubjectKind
from query_logs.audit import AuditKind, AuditOutcome
from query_logs.review.rules import Severity
from registry.fields import Envelope
from registry.sources import load_sources
from search_api.models.cards import SOURCE_LABELS
from search_api.queries.search import Facet, Sort

APP_NAME: Final = "线索"
APP_TITLE: Final = "线索 · 政务数据综合查询"

NAV: Final = MappingProxyType(
    {
        "search": "检索",
        "entities": "实体",
        "cases": "我的案件",
        "approvals": "待审批",
        "clues": "线索汇总",
        "graph": "关系图谱",
        "audit": "日志审查",
        "admin": "账户管理",
        "api_docs": "接口文档",
    }
)

ROLES: Final = MappingProxyType(
    {
        Role.INVESTIGATOR: "调查人员",
        Role.APPROVER: "审批人",
        Role.SPECIAL_TASK: "专班",
        Role.ANALYST: "分析人员",
        Role.SECURITY_AUDITOR: "安全审计员",
        Role.SECURITY_ADMIN: "安全管理员",
        Role.SYSTEM_ADMIN: "系统管理员",
    }
)

SOURCES: Final = MappingProxyType({str(s): label for s, label in SOURCE_LABELS.items()})

STATES: Final = MappingProxyType(
    {
        State.PENDING: "待审批",
        State.APPROVED: "已批准",
        State.REJECTED: "已驳回",
        State.REVOKED: "已撤销",
        State.EXPIRED: "已过期",
    }
)

CATEGORIES: Final = MappingProxyType({str(c): str(c) for c in Category})

TIERS: Final = MappingProxyType({str(t): str(t) for t in Tier})

FACETS: Final = MappingProxyType(
    {
        Facet.SOURCE: "数据来源",
        Facet.PROVINCE: "省",
        Facet.CITY: "市",
        Facet.COUNTY: "县",
        Facet.TOWNSHIP: "乡镇",
        Facet.TIER: "层级",
        Facet.CATEGORY: "问题类别",
        Facet.YEAR: "年份",
    }
)

SORTS: Final = MappingProxyType(
    {
        Sort.RELEVANCE: "按相关度",
        Sort.DATE_DESC: "按日期（新→旧）",
        Sort.DATE_ASC: "按日期（旧→新）",
    }
)

BUTTONS: Final = MappingProxyType(
    {
        "login": "登录",
        "logout": "退出",
        "search": "检索",
        "choose": "使用此申请",
        "change_application": "更换申请",
        "clear_filters": "清除筛选",
        "previous": "上一页",
        "next": "下一页",
        "back": "返回",
    }
)

TEXT: Final = MappingProxyType(
    {
        "username": "用户名",
        "password": "密码",
        "login_title": "用户登录",
        "current_application": "当前查询申请",
        "no_application": "未选择查询申请：数据页面需要一份已批准的查询申请",
        "not_your_application": "所选申请不属于当前用户",
        "pick_application": "选择查询申请",
        "no_approved_applications": "暂无已批准且在有效期内的查询申请",
        "case_no": "案件编号",
        "purpose": "查询事由",
        "validity": "有效期",
        "quota_left": "剩余查询次数",
        "state": "状态",
        "query": "检索式",
        "query_placeholder": '姓名、单位、地址、内容… 支持 AND / OR / NOT、"短语"、姓名:王伟',
        "syntax_help": "检索语法",
        "filters": "筛选",
        "date_from": "起始日期",
        "date_to": "截止日期",
        "sort": "排序",
        "page_size": "每页条数",
        "total": "共 {total} 条",
        "page_of": "第 {page} 页",
        "no_hits": "没有找到匹配的记录",
        "record_id": "记录编号",
        "subjects_column": "相关人员",
        "score": "相关度",
        "highlights": "命中片段",
        "names": "姓名或名称",
        "signed_in_as": "当前用户",
        "error_title": "操作未完成",
        "loading": "正在检索…",
        "skip_to_content": "跳到正文",
    }
)

SYNTAX_HELP: Final = (
    ("王伟", "任一文本字段包含“王伟”（单字亦可；繁体同时按简体检索）"),
    ("王伟 粮库", "同时包含两者（空格即 AND）"),
    ("王伟 OR 王玮", "任一包含即可"),
    ("粮库 NOT 退休、粮库 -退休", "排除包含后一个词的记录"),
    ('"海口 8栋3单元"', "引号内为短语，按原文检索"),
    (
        "姓名:王伟、单位:粮库、地址:中山路",
        "只在某类字段中检索（另有 企业: 内容: 职务: 编号: 类别:）",
    ),
    ("(王伟 OR 王玮) 粮库", "括号分组；不支持通配符、正则、模糊检索"),
)
"""Examples of docs/search-syntax.md, shown beside the search box."""

# What a refusal page says, by HTTP status; the API's own message is shown below it.
ERRORS: Final = MappingProxyType(
    {
        400: "请求有误",
        401: "请先登录",
        403: "无权执行此操作",
        404: "未找到所请求的内容",
        405: "不支持此操作",
        409: "与现有数据冲突",
        422: "输入不符合要求，请检查后重试",
        429: "请求过于频繁",
        500: "系统内部错误，请联系系统管理员",
        503: "服务暂时不可用（检索引擎或日志无法访问），请稍后再试",
    }
)

MESSAGES: Final = MappingProxyType(
    {
        "login_failed": "用户名或密码错误，或账户已被锁定",
        "session_ended": "会话已结束，请重新登录",
        "csrf": "页面已过期或请求来源不明，请刷新页面后重试",
        "logged_out": "已安全退出",
        "application_chosen": "已切换查询申请",
    }
)


# ---- ui-admin: 待审批, 日志审查 and administration pages -------------------------------------

APPROVALS_TEXT: Final = MappingProxyType(
    {
        "title": "待审批",
        "applications": "待审批的查询申请",
        "grants": "待审批的跨层级授权",
        "no_applications": "暂无待您审批的查询申请",
        "no_grants": "暂无待您审批的跨层级授权",
        "id": "编号",
        "applicant": "申请人",
        "category": "问题类别",
        "sources": "数据来源",
        "regions": "地区范围",
        "subjects": "查询对象",
        "flags": "权限",
        "unmask": "需查看完整号码",
        "export": "需导出",
        "note": "审批意见",
        "note_placeholder": "审批意见（选填，驳回时请说明理由）",
        "grantee": "被授权人",
        "valid_until": "有效期至",
        "approved": "申请 {id} 已批准",
        "rejected": "申请 {id} 已驳回",
        "grant_approved": "授权 {id} 已批准",
        "grant_rejected": "授权 {id} 已驳回",
        "grant_revoked": "授权 {id} 已撤销",
    }
)

SUBJECT_KINDS: Final = MappingProxyType(
    {
        SubjectKind.PERSON: "公民身份号码",
        SubjectKind.COMPANY: "统一社会信用代码",
        SubjectKind.NAME: "姓名",
    }
)

AUDIT_TEXT: Final = MappingProxyType(
    {
        "title": "日志审查",
        "entries": "日志条目",
        "review": "审查报告",
        "timeline": "用户轨迹",
        "chain": "日志链校验",
        "actor": "用户",
        "kind": "类型",
        "outcome": "结果",
        "since": "起始日期",
        "until": "截止日期",
        "any": "全部",
        "seq": "序号",
        "ts": "时间",
        "route": "接口",
        "application": "申请",
        "case": "案件",
        "hits": "命中数",
        "detail": "详情",
        "older": "更早的条目",
        "newest": "最新条目",
        "no_entries": "没有符合条件的日志条目",
        "verify": "立即校验",
        "verifying": "正在校验…",
        "chain_ok": "日志链完整，校验通过",
        "chain_bad": "日志链校验失败",
        "entries_checked": "已校验条目",
        "checkpoints_checked": "已校验签名检查点",
        "head_seq": "最新序号",
        "last_checkpoint": "最近检查点序号",
        "no_checkpoint": "尚无检查点",
        "first_bad_seq": "首个异常序号",
        "reason": "原因",
        "findings": "发现的问题",
        "no_findings": "本期未发现问题",
        "severity": "严重程度",
        "rule": "规则",
        "summary": "说明",
        "first_ts": "首次",
        "last_ts": "末次",
        "entry_seqs": "相关条目",
        "users": "用户概况",
        "entries_reviewed": "审查条目数",
        "working_hours": "工作时间",
        "generated_at": "生成时间",
        "governed_queries": "受控查询",
        "distinct_subjects": "不同查询对象",
        "after_hours": "非工作时间查询",
        "gaps": "无法完整审查的规则",
        "export": "导出审查报告（CSV）",
        "flags": "标记",
        "show": "查看",
        "roles": "角色",
    }
)

KINDS: Final = MappingProxyType(
    {
        AuditKind.QUERY_REQUEST: "查询请求",
        AuditKind.QUERY_OUTCOME: "查询结果",
        AuditKind.DENIAL: "拒绝",
        AuditKind.LOGIN_OK: "登录成功",
        AuditKind.LOGIN_FAILED: "登录失败",
        AuditKind.LOGOUT: "退出",
        AuditKind.USER_CHANGE: "账户变更",
        AuditKind.ROLE_CHANGE: "角色变更",
        AuditKind.APPLICATION_REQUEST: "提交申请",
        AuditKind.APPLICATION_DECISION: "申请审批",
        AuditKind.GRANT_CHANGE: "授权变更",
        AuditKind.CASE_CHANGE: "案件变更",
        AuditKind.EXPORT: "导出",
        AuditKind.AUDIT_READ: "审计读取",
        AuditKind.ADMIN_ACTION: "管理操作",
        AuditKind.NOTIFICATION: "布控通知",
        AuditKind.CHECKPOINT: "检查点",
    }
)

OUTCOMES: Final = MappingProxyType(
    {
        AuditOutcome.OK: "成功",
        AuditOutcome.DENIED: "拒绝",
        AuditOutcome.FAILED: "失败",
        AuditOutcome.ERROR: "错误",
    }
)

SEVERITIES: Final = MappingProxyType(
    {Severity.HIGH: "高", Severity.MEDIUM: "中", Severity.LOW: "低"}
)

ADMIN_TEXT: Final = MappingProxyType(
    {
        "title": "账户管理",
        "accounts": "账户",
        "add_account": "新建账户",
        "username": "用户名",
        "display_name": "姓名",
        "jurisdiction": "管辖区划代码",
        "own_id": "公民身份号码（选填）",
        "password": "初始密码",
        "new_password": "新密码",
        "roles": "角色",
        "status": "状态",
        "active": "正常",
        "disabled": "已停用",
        "locked": "已锁定",
        "disable": "停用",
        "enable": "启用",
        "unlock": "解锁",
        "reset_password": "重置密码",
        "set_roles": "保存角色",
        "set_jurisdiction": "保存管辖",
        "grants": "跨层级授权",
        "no_grants": "暂无跨层级授权",
        "revoke": "撤销",
        "actions": "操作",
        "created": "账户 {username} 已创建（角色由安全管理员分配）",
        "changed": "账户 {username} 已更新",
        "roles_note": "系统管理员创建账户；安全管理员分配角色与管辖范围（三员分立）",
    }
)

ADMIN_BUTTONS: Final = MappingProxyType(
    {"approve": "批准", "reject": "驳回", "create": "创建", "filter": "筛选"}
)

# --- ui-inv: the investigator's pages (实体, 一人一档 and its PDF, 我的案件) ---

ENTITY_PAGE: Final = MappingProxyType(
    {
        "title": "实体",
        "query": "身份证号、统一社会信用代码、手机号、姓名或拼音",
        "kind": "类型",
        "kind_auto": "自动识别",
        "kind_person": "人员",
        "kind_company": "企业",
        "count": "共 {count} 个实体",
        "truncated": "匹配过多，仅显示前 {count} 个；请补充条件",
        "none": "没有找到匹配的实体",
        "match": "匹配方式",
        "records": "记录 {total} 条",
        "open_profile": "一人一档",
        "add_to_application": "加入申请",
        "unit": "单位",
        "post": "职务",
        "legal_rep": "法定代表人",
        "company_type": "企业类型",
        "credit_code": "统一社会信用代码",
    }
)

PROFILE_PAGE: Final = MappingProxyType(
    {
        "title": "一人一档",
        "id_number": "公民身份号码",
        "gender": "性别",
        "birth_date": "出生年月",
        "ethnicity": "民族",
        "region_code": "行政区划",
        "status": "户籍状态",
        "death_date": "死亡日期",
        "export_pdf": "导出PDF",
        "export_not_allowed": "当前申请未获准导出",
        "sources": "各来源记录",
        "timeline": "时间轴",
        "household": "同户成员",
        "household_no": "户号",
        "relation": "与户主关系",
        "name": "姓名",
        "companies": "企业任职与持股",
        "company": "企业",
        "role": "身份",
        "share": "持股比例",
        "employers": "参保单位",
        "benefits": "待遇领取",
        "benefit_type": "待遇类型",
        "payments": "笔数",
        "amount": "金额合计",
        "period": "期间",
        "mentions": "按姓名及单位提及的信访",
        "linked": "关联人员",
        "linked_load": "查看关联人员（图谱查询，记入日志）",
        "linked_none": "没有关联人员",
        "standing": "关系",
        "hops": "跳数",
        "chain": "关联链",
        "cut": "部分节点的关联数超过上限，已截断",
        "similar": "相似信访",
        "similar_none": "没有相似信访",
        "similar_score": "相似度",
        "shown_of": "显示 {shown} / 共 {total} 条",
        "undated": "无日期",
        "none": "无",
        "pdf_title": "一人一档（导出）",
        "pdf_meta": "案件 {case_no} · 申请 {application_id} · 导出人 {user} · {time}",
        "pdf_notice": "本文件含个人信息，仅限本案使用，不得扩散",
        "members_cut": "成员过多，仅列出部分",
    }
)

CASES_PAGE: Final = MappingProxyType(
    {
        "title": "我的案件",
        "cases": "案件",
        "case_title": "案件名称",
        "owner": "承办人",
        "members": "成员",
        "no_cases": "暂无案件，请先新建案件",
        "new_case": "新建案件",
        "open_case": "新建",
        "applications": "查询申请",
        "no_applications": "暂无查询申请",
        "new_application": "提交查询申请",
        "file": "提交申请",
        "case": "所属案件",
        "category": "申请类别",
        "sources": "数据来源",
        "regions": "地区（行政区划代码，多个用空格或逗号分隔）",
        "subjects": "查询对象",
        "subject_kind": "对象类型",
        "subject_value": "对象",
        "kind_person_id": "公民身份号码",
        "kind_credit_code": "统一社会信用代码",
        "kind_name": "姓名",
        "kind_handle": "实体卡片",
        "unmask": "申请显示完整号码",
        "export": "申请导出",
        "valid_days": "有效天数",
        "filed": "申请已提交，等待审批",
        "opened": "案件已新建",
        "quota": "已用/配额",
        "use": "使用",
        "id": "编号",
    }
)


# --- ui-ops: the 线索汇总 (special-task) and 关系图谱 (analyst) pages -------------------------

CLUE_TEXT: Final = MappingProxyType(
    {
        "title": "线索汇总",
        "query_placeholder": "主题词，如 粮食购销；支持检索语法",
        "handling_level": "承办层级",
        "locality_tier": "问题属地层级",
        "region": "问题属地区划代码",
        "category": "问题类别",
        "count": "线索数",
        "units": "承办单位",
        "other_units": "其他单位",
        "by_tier": "按承办层级汇总",
        "chart_title": "各层级线索数",
        "localities": "按问题属地层级",
        "export_xlsx": "导出台账（XLSX）",
        "export_denied": "当前申请未批准导出，不能导出台账",
        "hits": "线索明细",
        "summarise": "汇总",
        "petitions_only": "仅信访件",
        "no_groups": "没有匹配的线索",
    }
)

EDGE_KINDS: Final = MappingProxyType(
    {
        EdgeKind.HOUSEHOLD: "同户",
        EdgeKind.LEGAL_REP: "法定代表人",
        EdgeKind.SHAREHOLDER: "股东",
        EdgeKind.OWNS: "企业控股",
        EdgeKind.OFFICER: "任职",
        EdgeKind.EMPLOYEE: "参保单位",
        EdgeKind.CO_OWNER: "共有不动产",
        EdgeKind.REPORTED: "被反映",
    }
)

NODE_KINDS: Final = MappingProxyType(
    {
        NodeKind.PERSON: "人员",
        NodeKind.COMPANY: "企业",
        NodeKind.MENTION: "未识别人员",
        NodeKind.PETITION: "信访件",
    }
)

GRAPH_TEXT: Final = MappingProxyType(
    {
        "title": "关系图谱",
        "subject": "起点",
        "subject_kind": "起点类型",
        "person": "人员（句柄或身份证号）",
        "company": "企业（统一社会信用代码）",
        "subject_placeholder": "h… 句柄、身份证号或统一社会信用代码",
        "application_subjects": "本申请的查询对象",
        "hops": "跳数",
        "fan_out": "每节点展开上限",
        "edge_kinds": "关系类型",
        "draw": "生成图谱",
        "nodes": "节点 {nodes} 个，关系 {edges} 条",
        "cut": "以下节点的关系超过展开上限，已按强度截取",
        "cut_item": "{name}：共 {degree} 条，显示 {kept} 条",
        "budget": "节点数已达上限，图谱未完整展开",
        "expand_hint": "双击节点展开其关系；单击关系查看依据记录",
        "expanding": "正在展开…",
        "at_hop_limit": "该节点已在最大跳数处，不能再展开",
        "edge_panel": "关系依据",
        "edge_kind": "关系类型",
        "edge_label": "关系",
        "edge_source": "数据来源",
        "edge_period": "起止日期",
        "edge_percent": "持股比例",
        "edge_post": "职务",
        "edge_records": "依据记录",
        "edge_strength": "强度",
        "path": "两对象间路径",
        "path_to": "终点",
        "find_path": "查找路径",
        "path_found": "找到 {count} 条路径",
        "path_none": "在 {hops} 跳内未找到路径",
        "export_png": "导出图片（PNG）",
        "export_graphml": "导出 GraphML",
        "export_denied": "当前申请未批准导出",
        "no_subject": "请输入起点",
        "name_unknown": "（未知）",
    }
)


# --- watch: watch lists (布控) and the 通知 page ------------------------------------------------

WATCH_TEXT: Final = MappingProxyType(
    {
        "nav": "通知",
        "title": "通知",
        "badge": "未读通知",
        "watch": "加入布控",
        "watched": "已加入布控",
        "intro": "布控对象的新增或变更记录、布控运行的新增线索，在每次数据入库后通知。",
        "none": "暂无通知",
        "unread_only": "只看未读",
        "all": "全部",
        "kind": "类型",
        "subject": "对象",
        "source": "来源",
        "record": "记录",
        "clue": "线索",
        "application": "申请",
        "time": "时间",
        "state": "状态",
        "read": "已读",
        "unread": "未读",
        "open": "查看",
        "mark_read": "标为已读",
        "count": "共 {total} 条，未读 {unread} 条",
    }
)


# --- screening: the 名单筛查 page ---------------------------------------------------------------

SCREENING_TEXT: Final = MappingProxyType(
    {
        "nav": "名单筛查",
        "title": "名单筛查",
        "intro": "上传名单（XLSX 或 CSV），在当前申请的数据来源和地区范围内逐行比对。"
        "仅凭姓名不予比对；名单不在系统中保存。",
        "file": "名单文件",
        "screen": "开始筛查",
        "export_xlsx": "筛查并导出结果（XLSX）",
        "export_denied": "当前申请未批准导出，不能导出结果",
        "template": "下载名单模板（CSV）",
        "accepted": "可识别的列名（其他列忽略）",
        "rule": "比对规则：身份证号精确比对；姓名与工作单位，或姓名与出生日期及行政区划代码，"
        "按关系图谱的人员识别规则比对。",
        "screening": "正在筛查…",
        "summary": "共 {rows} 行，匹配 {matched} 行",
        "row": "行号",
        "status": "比对结果",
        "kind": "比对依据",
        "person": "人员",
        "id_number": "证件号码",
        "basis": "匹配依据",
        "hits": "命中来源（记录数）",
        "reason": "说明",
        "profile": "一人一档",
        "no_rows": "名单中没有数据行",
    }
)

SCREENING_COLUMNS: Final = MappingProxyType(
    {
        "name": "姓名",
        "id_number": "身份证号",
        "unit": "工作单位",
        "birth_date": "出生日期",
        "region": "行政区划代码",
    }
)

SCREENING_KINDS: Final = MappingProxyType(
    {
        "id_number": "姓名+身份证号",
        "unit": "姓名+工作单位",
        "birth_date": "姓名+出生日期",
        "name_only": "仅姓名",
    }
)


# ---- models-ui: 比对模型, 比对运行 and 问题线索台账 pages ---------------------------------------

MODELS_TEXT: Final = MappingProxyType(
    {
        "nav_models": "比对模型",
        "nav_runs": "比对运行",
        "nav_ledger": "线索台账",
        "models_title": "比对模型",
        "runs_title": "比对运行",
        "ledger_title": "问题线索台账",
        "hits_title": "运行结果",
        "id": "模型编号",
        "name": "名称",
        "description": "说明",
        "sources": "所需数据来源",
        "level": "等级",
        "due_days": "办结期限（天）",
        "named": "当前申请可运行",
        "not_named": "当前申请未列明此模型",
        "no_special_check": "请在页面顶部选择一份已批准的“专项核查”申请：只有它列明的模型才能运行",
        "current_models": "当前申请列明的模型",
        "run": "运行",
        "running_note": "运行在检索引擎内完成，按模型与数据量约需数秒；运行记入查询日志",
        "model": "比对模型",
        "application": "查询申请",
        "started": "开始时间",
        "finished": "完成时间",
        "hits": "命中",
        "new_count": "新增",
        "run_state": "状态",
        "open_hits": "查看结果",
        "no_runs": "尚未运行任何比对模型",
        "no_hits": "本次运行没有命中",
        "clue_no": "线索编号",
        "subject": "当事人",
        "evidence": "证据记录",
        "whose": "所属",
        "new": "新增",
        "status": "状态",
        "flag": "提醒",
        "assignee": "承办人",
        "due_on": "办结期限",
        "notes": "备注",
        "all": "全部",
        "new_only": "仅看新增",
        "filter": "筛选",
        "no_clues": "没有符合条件的线索",
        "export_xlsx": "导出台账（XLSX）",
        "export_denied": "当前申请未批准导出",
        "detail": "处置",
        "next_status": "变更状态为",
        "unchanged": "（不变）",
        "due_hint": "今日起一年内",
        "notes_hint": "填写后替换原备注；留空则不变",
        "save": "保存",
        "saved": "线索 {clue_no} 已更新",
        "no_next": "此状态不可再变更",
        "run_of": "运行 {run_id} · {model}",
        "back_to_runs": "返回比对运行",
        "profile": "一人一档",
        "no_record_view": "记录编号为服务器生成的化名",
        "application_models": "申请运行的比对模型",
    }
)

RUN_STATES: Final = MappingProxyType(
    {RunState.RUNNING: "运行中", RunState.DONE: "已完成", RunState.FAILED: "失败"}
)

REFUSAL_TEXT: Final = (
    # (the start of the API's message, what a page shows): the gate's and the ledger's refusals
    # of the comparison pages, in Chinese; any other message is shown as the API wrote it.
    ("a governed request names its application", "请先在页面顶部选择一份已批准的查询申请"),
    ("the request did not come from this page", MESSAGES["csrf"]),
    ("comparison models run only under a", "比对模型只能在已批准的“专项核查”申请下运行"),
    ("the application does not name this comparison model", "当前申请未列明此比对模型"),
    ("no comparison model with this id", "没有此编号的比对模型"),
    ("the application does not allow export", "当前申请未批准导出"),
    ("the application belongs to another user", "所选申请不属于当前用户"),
    ("the application is ", "当前申请未获批准或已失效"),
    ("source ", "所需的数据来源不在当前申请范围内（比对模型需要申请列明其全部数据来源）"),
    ("no run with this id under this application", "此申请下没有该次运行"),
    ("no clue ", "当前申请的台账中没有此线索"),
    ("a clue ", "线索状态不能这样变更"),
    ("the assignee must be", "承办人须为案件承办人或案件成员"),
    ("the due date lies within", "办结期限须在今日起一年内"),
    ("the clue was changed by someone else", "此线索已被他人修改，请刷新后重试"),
    ("only users who file applications read the models", "只有可提交查询申请的用户能查看比对模型"),
    ("your roles do not allow reading registry data", "当前角色无权查看业务数据"),
)


@cache
def level_labels() -> MappingProxyType[str, str]:
    """A level's label (红色/黄色/蓝色) as the model file names it."""
    return MappingProxyType({str(k): v.label for k, v in shipped_catalogue().levels.items()})


@cache
def model_names() -> MappingProxyType[str, str]:
    """A comparison model's 名称 by its id, as the model file names it."""
    return MappingProxyType({m.id: m.name for m in shipped_catalogue().models.values()})


def refusal_text(message: str) -> str:
    """A refusal's message in Chinese when it is one of REFUSAL_TEXT's, else as it is."""
    return next((shown for start, shown in REFUSAL_TEXT if message.startswith(start)), message)


def applicant_roles() -> tuple[str, ...]:
    """The roles that file applications (the apply permission) and query under them: they see
    检索, 实体 and 我的案件."""
    rules = role_rules()
    return tuple(str(r) for r in Role if Permission.APPLY in rules.permissions_of({r}))


@cache
def field_labels() -> MappingProxyType[str, str]:
    """A record field's Chinese name: its column header in the source definitions (the first
    source that has the field names it; the columns share names across sources)."""
    labels: dict[str, str] = {Envelope.ALL_TEXT: "全文", Envelope.ORGS: "单位"}
    for spec in load_sources().values():
        for column in spec.columns:
            labels.setdefault(column.field, column.header)
    return MappingProxyType(labels)


def source_label(source: str) -> str:
    """The registry's short Chinese name; the code itself for a value outside the set."""
    return SOURCES.get(source, source)


def all_labels() -> dict[str, object]:
    """Every table, as the templates see it (``L.NAV.search``, ``L.FIELDS[...]``)."""
    return {
        "APP_NAME": APP_NAME,
        "APP_TITLE": APP_TITLE,
        "NAV": NAV,
        "ROLES": ROLES,
        "SOURCES": SOURCES,
        "STATES": STATES,
        "CATEGORIES": CATEGORIES,
        "TIERS": TIERS,
        "FACETS": FACETS,
        "SORTS": SORTS,
        "BUTTONS": BUTTONS,
        "TEXT": TEXT,
        "SYNTAX_HELP": SYNTAX_HELP,
        "ERRORS": ERRORS,
        "MESSAGES": MESSAGES,
        "FIELDS": field_labels(),
        "ALL_SOURCES": tuple(str(s) for s in Source),
        "APPLICANT_ROLES": applicant_roles(),
        # ui-admin
        "APPROVALS_TEXT": APPROVALS_TEXT,
        "SUBJECT_KINDS": SUBJECT_KINDS,
        "AUDIT_TEXT": AUDIT_TEXT,
        "KINDS": KINDS,
        "OUTCOMES": OUTCOMES,
        "SEVERITIES": SEVERITIES,
        "ADMIN_TEXT": ADMIN_TEXT,
        "ADMIN_BUTTONS": ADMIN_BUTTONS,
        # ui-inv
        "ENTITY_PAGE": ENTITY_PAGE,
        "PROFILE_PAGE": PROFILE_PAGE,
        "CASES_PAGE": CASES_PAGE,
        # ui-ops
        "CLUE_TEXT": CLUE_TEXT,
        "EDGE_KINDS": EDGE_KINDS,
        "NODE_KINDS": NODE_KINDS,
        "GRAPH_TEXT": GRAPH_TEXT,
        # watch
        "WATCH_TEXT": WATCH_TEXT,
        # screening
        "SCREENING_TEXT": SCREENING_TEXT,
        "SCREENING_COLUMNS": SCREENING_COLUMNS,
        "SCREENING_KINDS": SCREENING_KINDS,
        # models-ui
        "MODELS_TEXT": MODELS_TEXT,
        "RUN_STATES": RUN_STATES,
        "LEVEL_LABELS": level_labels(),
        "MODEL_NAMES": model_names(),
    }
