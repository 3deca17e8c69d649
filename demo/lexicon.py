"""Static vocabularies for the synthetic drop: regions, names, units, industries, text pieces.

Region codes are public GB/T 2260 administrative division codes; everything else is invented.
Township codes (9 digits) are shaped like the statistical codes but not taken from any list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class County:
    """A county-level division with its parents and a few townships."""

    code: str
    province: str
    city: str
    city_code: str
    name: str
    towns: tuple[str, ...]

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def prefix(self) -> str:
        """The written address prefix (province + city + county)."""
        return self.province + self.city + self.name

    def town_code(self, index: int) -> str:
        # 9-digit statistical code: street offices 00x, towns 10x.
        return f"{self.code}{100 + index:03d}"


HAINAN = "海南省"
GUANGDONG = "广东省"
PROVINCE_ABBR = {"46": "琼", "44": "粤"}

COUNTIES: tuple[County, ...] = (
    County("460105", HAINAN, "海口市", "460100", "秀英区", ("长流镇", "西秀镇", "海秀镇")),
    County("460106", HAINAN, "海口市", "460100", "龙华区", ("城西镇", "新坡镇", "遵谭镇")),
    County("460107", HAINAN, "海口市", "460100", "琼山区", ("云龙镇", "红旗镇", "三门坡镇")),
    County("460108", HAINAN, "海口市", "460100", "美兰区", ("演丰镇", "三江镇", "大致坡镇")),
    County("460202", HAINAN, "三亚市", "460200", "海棠区", ("海棠湾镇", "林旺镇")),
    County("460203", HAINAN, "三亚市", "460200", "吉阳区", ("田独镇", "荔枝沟镇")),
    County("469001", HAINAN, "", "469000", "五指山市", ("通什镇", "南圣镇", "毛阳镇")),
    County("469002", HAINAN, "", "469000", "琼海市", ("嘉积镇", "博鳌镇", "万泉镇")),
    County("440103", GUANGDONG, "广州市", "440100", "荔湾区", ("沙面街道", "逢源街道")),
    County("440104", GUANGDONG, "广州市", "440100", "越秀区", ("北京街道", "农林街道")),
    County("440106", GUANGDONG, "广州市", "440100", "天河区", ("石牌街道", "五山街道")),
    County("440111", GUANGDONG, "广州市", "440100", "白云区", ("钟落潭镇", "人和镇")),
)
# Relative population of each county (Hainan dominates; Guangzhou gives cross-region records).
COUNTY_WEIGHTS = (12, 14, 10, 12, 9, 10, 6, 8, 4, 4, 5, 6)
COUNTY_BY_CODE = {c.code: c for c in COUNTIES}
CITY_NAMES = {"460100": "海口市", "460200": "三亚市", "440100": "广州市"}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤符"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯俊帆帅旭建国东文林成亮龙阳宇海峰志荣兵"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英华慧巧美莉燕红萍婷雪琳晶倩佳欣丹兰梅怡洁颖琴蓉"
# CJK Extension A (䶮 U+4DAE, 㛃 U+36C3) and Extension B (𪚥 U+2A6A5): jieba cannot segment these.
RARE_CHARS = ("\u4dae", "\u36c3", "\U0002a6a5")
MINORITY_PARTS = (
    "阿依古丽",
    "买买提",
    "吐尔逊",
    "艾力",
    "古丽娜尔",
    "热依拉",
    "阿不都",
    "迪丽拜尔",
    "艾尔肯",
    "玉素甫",
    "热合曼",
    "帕提古丽",
)
MINORITY_ETHNICITIES = ("维吾尔族", "哈萨克族")
# The middle dot of minority names as real exports write it: U+00B7, U+2022, U+30FB, ASCII dot.
DOTS = ("·", "•", "・", ".")

# Characters whose traditional form differs (simplified, traditional); used on names and text.
_TRADITIONAL_PAIRS = (
    (
        "陈张刘杨黄赵吴郑许谢韩冯邓叶苏卢钟谭陆贾龙顾龚钱严汤罗孙马",
        "陳張劉楊黃趙吳鄭許謝韓馮鄧葉蘇盧鍾譚陸賈龍顧龔錢嚴湯羅孫馬",
    ),
    ("伟华丽军红国东兰涛鹏辉荣飞刚宁静", "偉華麗軍紅國東蘭濤鵬輝榮飛剛寧靜"),
    (
        "问题举报粮购销资违规导项补贴仓贪贿赂请调处肃财务",
        "問題舉報糧購銷資違規導項補貼倉貪賄賂請調處肅財務",
    ),
    (
        "领长纪众亲属关系镇区县书这为个们过实经营该对进",
        "領長紀眾親屬關係鎮區縣書這為個們過實經營該對進",
    ),
)
TRADITIONAL = str.maketrans(
    "".join(a for a, _ in _TRADITIONAL_PAIRS), "".join(b for _, b in _TRADITIONAL_PAIRS)
)

STREETS = ("人民路", "解放路", "中山路", "文明路", "和平路", "建设路", "滨江路", "胜利路", "海秀路")

# Units an official can work in, by tier; "{p}" / "{c}" / "{x}" / "{t}" take the place names.
PROVINCE_UNITS = ("{p}粮食和物资储备局", "{p}发展和改革委员会", "{p}农业农村厅", "{p}民政厅")
CITY_UNITS = ("{c}粮食和物资储备局", "{c}自然资源和规划局", "{c}民政局", "{c}住房和城乡建设局")
COUNTY_UNITS = (
    "{x}粮食和物资储备局",
    "{x}民政局",
    "{x}自然资源和规划局",
    "{x}卫生健康委员会",
    "{x}住房和城乡建设局",
    "{x}农业农村局",
    "{x}人力资源和社会保障局",
)
TOWN_UNITS = ("{t}人民政府", "{t}粮食管理所")
VILLAGE_UNIT = "{t}新村村民委员会"
GRAIN_WORD = "粮食"

HEAD_POSTS = ("局长", "副局长")
STAFF_POSTS = ("科长", "副科长", "主任科员", "科员")
TOWN_POSTS = ("镇长", "副镇长", "所长")

BRANDS = (
    "天成",
    "永兴",
    "嘉禾",
    "华宇",
    "顺达",
    "汇通",
    "盛世",
    "信诚",
    "远航",
    "佳和",
    "鼎新",
    "恒泰",
    "金穗",
    "南海",
    "椰风",
    "鹏程",
    "瑞丰",
    "宏远",
    "海晟",
    "丰源",
)
INDUSTRIES = (
    ("粮油", "粮食收购；粮油批发；仓储服务。"),
    ("建材", "建筑材料销售；五金产品批发。"),
    ("餐饮管理", "餐饮服务；食品销售；酒店管理。"),
    ("信息科技", "软件开发；信息系统集成服务；技术服务。"),
    ("劳务派遣", "劳务派遣服务；人力资源服务。"),
    ("物流", "道路货物运输；仓储服务；装卸搬运。"),
    ("建筑工程", "房屋建筑工程施工；市政工程施工。"),
    ("农业开发", "农作物种植；农产品初加工；热带水果种植。"),
    ("贸易", "货物进出口；日用百货销售。"),
)
COMPANY_FORMS = (
    ("有限公司", "有限责任公司(自然人投资或控股)"),
    ("有限责任公司", "有限责任公司(自然人独资)"),
    ("股份有限公司", "股份有限公司(非上市、自然人投资或控股)"),
)
SUBSIDIARY_KIND = "有限责任公司(非自然人投资或控股的法人独资)"

CATEGORIES = ("扶贫领域", "违反中央八项规定精神", "滥用职权", "贪污贿赂", "工程建设领域", "其他")
THEME_CATEGORY = "粮食购销领域"
THEME_KEYWORD = "粮食购销"
CONTENT_TEMPLATES: dict[str, tuple[str, ...]] = {
    THEME_CATEGORY: (
        "反映{unit}{post}{name}在粮食收购过程中压级压价、虚报收购数量，套取国家粮食收储补贴资金。",
        "举报{name}利用职务便利，与粮商勾结，在粮食购销中以陈粮顶替新粮，从中牟利。",
        "{unit}粮库管理混乱，{post}{name}默许亲属承包粮食运输业务，粮食购销账目不清。",
    ),
    "扶贫领域": ("反映{unit}{post}{name}在扶贫项目验收中弄虚作假，扶贫资金未按规定拨付到户。",),
    "违反中央八项规定精神": ("举报{name}多次使用公款吃喝，并违规收受管理服务对象礼金。",),
    "滥用职权": ("{name}在担任{unit}{post}期间，违规审批项目，对不符合条件的企业开绿灯。",),
    "贪污贿赂": ("举报{unit}{post}{name}收受工程老板好处费，为其承揽工程提供便利，金额较大。",),
    "工程建设领域": ("反映{unit}{post}{name}插手工程招投标，指定其亲属关联企业中标。",),
    "其他": ("反映{unit}{post}{name}工作作风粗暴，群众意见较大。",),
}
THEME_ASIDE = "另据反映，{name}还涉嫌插手本地粮食购销业务，与收储企业往来密切。"
CLOSINGS = (
    "此前已多次反映，未见回复。",
    "以上反映情况属实，请求调查处理。",
    "相关证据材料另附。",
    "涉及金额约{amount}万元，请组织核查。",
)
# Markup and injection text that real complaint forms contain: data to store, never to run.
HOSTILE_FRAGMENTS = (
    "<script>alert('xss')</script>",
    "<b>紧急</b>请尽快处理",
    "'; DROP TABLE petition; --",
    "1' OR '1'='1",
    '<img src=x onerror="alert(1)">',
    "&lt;p&gt;附件见下&lt;/p&gt;",
)
CHANNELS = ("来信", "来访", "网络举报", "电话举报", "微信举报", "手机客户端")
PETITION_STATES = ("待受理", "办理中", "已办结", "已转办")
