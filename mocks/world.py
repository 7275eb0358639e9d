"""The seeded world every mock department serves from.

One immutable `World` per seed: the district-wide service catalogue (static, hand-written from Pudong's
one-stop service stations) and exactly 1,300 stations spread over Pudong's 36 towns and subdistricts.
Everything random comes from a single `random.Random(seed)` consumed in a fixed order, so the same seed
always yields byte-identical department answers, and the gateway's tests and benchmarks can rely on
exact counts and contents.  Departments only *format* this data; they never invent any.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

DEFAULT_SEED = 20181125
STATION_COUNT = 1300

#: Every station lies inside this box (lat_min, lat_max, lon_min, lon_max): the Pudong New Area.
BBOX = (30.85, 31.40, 121.45, 121.98)

#: Shanghai has no DST; all timestamps in the world carry this offset.
CST = timezone(timedelta(hours=8))


class Channel(Enum):
    """Where a service can be applied for; each department spells these its own way."""

    WINDOW = "window"
    ONLINE = "online"
    APP = "app"
    WECHAT = "wechat"
    KIOSK = "kiosk"


@dataclass(frozen=True)
class Service:
    """One catalogue entry.  `category` is already in the owning department's own vocabulary,
    because the categories of different departments do not map onto each other."""

    code: str
    department: str
    name_zh: str
    name_en: str
    description: str
    category: str
    channels: tuple[Channel, ...]
    fee_fen: int
    processing_days: int
    documents: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class Town:
    """A town (镇) or subdistrict (街道) of Pudong with an approximate centre and a few real roads."""

    name_zh: str
    name_en: str
    lat: float
    lon: float
    radius_deg: float
    weight: int
    roads: tuple[str, ...]

    @property
    def is_subdistrict(self) -> bool:
        """Subdistricts are urban (居民区 only); towns also have villages (村)."""
        return self.name_zh.endswith("街道")


@dataclass(frozen=True)
class Station:
    """A one-stop service station (党群服务站 / 一站式服务站)."""

    code: str
    name: str
    town: str
    address: str
    lon: float
    lat: float
    opening_hours: str
    services: tuple[str, ...]
    phone: str


@dataclass(frozen=True)
class World:
    """Everything the mocks serve for one seed."""

    seed: int
    services: tuple[Service, ...]
    stations: tuple[Station, ...]

    def services_of(self, department: str) -> tuple[Service, ...]:
        """The catalogue of one department, in code order."""
        return tuple(s for s in self.services if s.department == department)


def _at(day: str) -> datetime:
    """A catalogue update time: 10:30 Shanghai time on the given ISO day."""
    return datetime.fromisoformat(f"{day}T10:30:00").replace(tzinfo=CST)


_W, _O, _A, _C, _K = Channel.WINDOW, Channel.ONLINE, Channel.APP, Channel.WECHAT, Channel.KIOSK

SERVICES: tuple[Service, ...] = (
    # community — 社区治理 (categories: wenhua, yanglao, shequ, shenghuo, zhiyuan)
    Service(
        "SQ-001",
        "community",
        "文化活动预约",
        "Cultural activity booking",
        "预约社区文化活动室、书画室及舞蹈排练场地，参加社区文化活动。",
        "wenhua",
        (_W, _A, _C),
        0,
        1,
        ("居民身份证",),
        _at("2018-11-12"),
    ),
    Service(
        "SQ-002",
        "community",
        "文化墙彩绘培训",
        "Cultural-wall painting workshop",
        "由社区志愿者老师带领居民学习文化墙彩绘，美化居住环境。",
        "wenhua",
        (_W, _C),
        0,
        3,
        ("居民身份证", "报名表"),
        _at("2018-10-30"),
    ),
    Service(
        "SQ-003",
        "community",
        "绿植养护培训",
        "Plant cultivation workshop",
        "学习阳台绿植、多肉植物的种植与养护，参与楼道微景观建设。",
        "shequ",
        (_W, _C),
        0,
        3,
        ("居民身份证", "报名表"),
        _at("2018-11-05"),
    ),
    Service(
        "SQ-004",
        "community",
        "老年人日间照料",
        "Day care for seniors",
        "为本街镇60周岁以上生活基本自理的老年人提供日间托养、康复和文娱服务。",
        "yanglao",
        (_W,),
        2500,
        5,
        ("居民身份证", "户口簿", "老年照护统一需求评估结果"),
        _at("2018-09-18"),
    ),
    Service(
        "SQ-005",
        "community",
        "老年人助餐服务",
        "Meal assistance for seniors",
        "为社区老年人提供午餐堂吃或送餐上门服务，按标准给予补贴。",
        "yanglao",
        (_W, _A),
        1200,
        2,
        ("居民身份证", "敬老卡"),
        _at("2018-11-20"),
    ),
    Service(
        "SQ-006",
        "community",
        "志愿者义务理发",
        "Volunteer haircutting",
        "每月固定日期由志愿者在服务站为居民免费理发，行动不便者可预约上门。",
        "zhiyuan",
        (_W, _C),
        0,
        0,
        ("居民身份证",),
        _at("2018-08-06"),
    ),
    Service(
        "SQ-007",
        "community",
        "便民修伞服务",
        "Umbrella repair",
        "志愿者为居民免费修理雨伞、小家电等日常用品。",
        "zhiyuan",
        (_W,),
        0,
        1,
        ("居民身份证",),
        _at("2018-07-23"),
    ),
    Service(
        "SQ-008",
        "community",
        "社区买菜点信息",
        "Vegetable buying point information",
        "查询周边社区菜场、流动售菜车及便民买菜点的位置和营业时间。",
        "shenghuo",
        (_W, _A, _C, _K),
        0,
        0,
        ("居民身份证或居住证",),
        _at("2018-11-21"),
    ),
    # civil-affairs — 民政局 (categories: SUBSIDY, MARRIAGE, SENIOR_CARE, SOCIAL_ASSISTANCE)
    Service(
        "MZ-001",
        "civil-affairs",
        "最低生活保障申请",
        "Minimum living allowance application",
        "家庭人均收入低于本市最低生活保障标准且财产符合规定的家庭，可申请最低生活保障。",
        "SUBSIDY",
        (_W, _O),
        0,
        30,
        ("居民身份证", "户口簿", "家庭收入证明", "家庭财产状况申报表"),
        _at("2018-10-15"),
    ),
    Service(
        "MZ-002",
        "civil-affairs",
        "结婚登记预约",
        "Marriage registration appointment",
        "预约浦东新区婚姻登记处办理结婚登记的日期和时段。",
        "MARRIAGE",
        (_O, _A, _C),
        0,
        1,
        ("居民身份证", "户口簿", "近期二寸双人合影照片"),
        _at("2018-11-01"),
    ),
    Service(
        "MZ-003",
        "civil-affairs",
        "老年综合津贴申领",
        "Seniors' comprehensive allowance",
        "本市户籍65周岁以上老年人按年龄段按月领取老年综合津贴。",
        "SENIOR_CARE",
        (_W, _O, _K),
        0,
        20,
        ("居民身份证", "银行卡"),
        _at("2018-09-03"),
    ),
    Service(
        "MZ-004",
        "civil-affairs",
        "临时救助申请",
        "Temporary assistance application",
        "因突发事件、意外伤害或重大疾病导致基本生活暂时困难的家庭，可申请临时救助。",
        "SOCIAL_ASSISTANCE",
        (_W,),
        0,
        15,
        ("居民身份证", "户口簿", "困难情况说明"),
        _at("2018-10-22"),
    ),
    Service(
        "MZ-005",
        "civil-affairs",
        "养老服务补贴申请",
        "Seniors' care service subsidy",
        "经评估有照护需求的低收入老年人，可申请居家养老服务补贴。",
        "SENIOR_CARE",
        (_W, _A),
        0,
        20,
        ("居民身份证", "户口簿", "老年照护统一需求评估结果"),
        _at("2018-11-08"),
    ),
    # hrss — 人力资源和社会保障局 (categories: 就业, 社保, 人才)
    Service(
        "RS-001",
        "hrss",
        "失业保险金申领",
        "Unemployment insurance benefit application",
        "参保缴费满一年、非因本人意愿中断就业的失业人员，可申领失业保险金。",
        "社保",
        (_W, _O, _A),
        0,
        5,
        ("居民身份证", "社会保障卡", "解除劳动合同证明"),
        _at("2018-10-09"),
    ),
    Service(
        "RS-002",
        "hrss",
        "社会保障卡申领",
        "Social insurance card application",
        "首次申领社会保障卡，可在服务站窗口或自助机提交。",
        "社保",
        (_W, _C, _K),
        0,
        20,
        ("居民身份证", "近期免冠照片"),
        _at("2018-08-27"),
    ),
    Service(
        "RS-003",
        "hrss",
        "社会保障卡补换",
        "Social insurance card replacement",
        "社会保障卡遗失或损坏的，可申请补办或换发，收取工本费。",
        "社保",
        (_W, _K),
        2000,
        10,
        ("居民身份证",),
        _at("2018-11-14"),
    ),
    Service(
        "RS-004",
        "hrss",
        "灵活就业登记",
        "Flexible employment registration",
        "以个体或非全日制等形式灵活就业的人员办理就业登记。",
        "就业",
        (_W, _O),
        0,
        1,
        ("居民身份证", "就业失业登记证"),
        _at("2018-09-25"),
    ),
    Service(
        "RS-005",
        "hrss",
        "农村富余劳动力就业补贴",
        "Employment subsidy for rural surplus labour",
        "本区农村富余劳动力实现非农就业并参加城镇职工社会保险的，可申请就业补贴。",
        "就业",
        (_W,),
        0,
        20,
        ("居民身份证", "户口簿", "劳动合同", "银行卡"),
        _at("2018-10-31"),
    ),
    Service(
        "RS-006",
        "hrss",
        "人才引进落户申请",
        "Talent residency application",
        "符合本市人才引进条件的人员，经用人单位申请办理落户。",
        "人才",
        (_O,),
        0,
        30,
        ("居民身份证", "学历证书", "劳动合同", "社会保险缴费记录"),
        _at("2018-11-16"),
    ),
    # health — 卫生健康委 (categories: MEDICAL, PUBLIC_HEALTH, FAMILY)
    Service(
        "WJ-001",
        "health",
        "家庭医生签约",
        "Family doctor contract",
        "与社区卫生服务中心家庭医生签约，享受健康管理、优先转诊等服务。",
        "FAMILY",
        (_W, _A, _C),
        0,
        1,
        ("居民身份证", "医保卡"),
        _at("2018-11-19"),
    ),
    Service(
        "WJ-002",
        "health",
        "预防接种预约",
        "Vaccination appointment",
        "预约社区卫生服务中心预防接种门诊的接种时间。",
        "PUBLIC_HEALTH",
        (_O, _A, _C),
        0,
        1,
        ("居民身份证", "预防接种证"),
        _at("2018-10-26"),
    ),
    Service(
        "WJ-003",
        "health",
        "母子健康手册办理",
        "Maternal and child health handbook",
        "孕早期在社区卫生服务中心建册，领取母子健康手册。",
        "FAMILY",
        (_W, _A),
        0,
        3,
        ("居民身份证", "结婚证", "孕检报告"),
        _at("2018-09-12"),
    ),
    Service(
        "WJ-004",
        "health",
        "老年人健康体检",
        "Health check for seniors",
        "为65周岁以上常住老年人每年提供一次免费健康体检。",
        "PUBLIC_HEALTH",
        (_W,),
        0,
        7,
        ("居民身份证", "医保卡"),
        _at("2018-08-15"),
    ),
    Service(
        "WJ-005",
        "health",
        "从业人员健康证明办理",
        "Health certificate for food-service workers",
        "食品、公共场所从业人员预防性健康检查，合格后发放健康证明。",
        "MEDICAL",
        (_W, _O),
        5900,
        5,
        ("居民身份证", "近期免冠照片"),
        _at("2018-11-07"),
    ),
    # commerce — 商务委 (categories: vegetable_market, business_license, consumer)
    Service(
        "SW-001",
        "commerce",
        "菜市场及便民买菜点查询",
        "Vegetable market and buying point lookup",
        "查询标准化菜市场、社区智慧微菜场及流动售菜点的分布和营业时间。",
        "vegetable_market",
        (_W, _A),
        0,
        0,
        ("居民身份证或居住证",),
        _at("2018-11-21"),
    ),
    Service(
        "SW-002",
        "commerce",
        "消费投诉登记",
        "Consumer complaint registration",
        "对商品质量、服务质量等消费纠纷进行投诉登记并转办。",
        "consumer",
        (_W, _A, _O),
        0,
        7,
        ("居民身份证", "购物凭证", "商品照片"),
        _at("2018-10-18"),
    ),
    Service(
        "SW-003",
        "commerce",
        "早餐网点备案",
        "Breakfast outlet registration",
        "社区早餐网点经营备案，纳入早餐工程统一管理。",
        "business_license",
        (_W, _O),
        0,
        10,
        ("营业执照", "食品经营许可证", "房屋租赁合同"),
        _at("2018-09-28"),
    ),
)


def _town(
    name_zh: str, name_en: str, lat: float, lon: float, radius_deg: float, weight: int, roads: str
) -> Town:
    """Compact constructor for the table below: `roads` is space-separated."""
    return Town(name_zh, name_en, lat, lon, radius_deg, weight, tuple(roads.split()))


TOWNS: tuple[Town, ...] = (
    _town("陆家嘴街道", "Lujiazui", 31.236, 121.505, 0.008, 35, "陆家嘴环路 浦东南路 东昌路 崂山路"),
    _town("潍坊新村街道", "Weifang Xincun", 31.226, 121.525, 0.007, 30, "潍坊路 南泉路 张杨路 源深路"),
    _town("洋泾街道", "Yangjing", 31.247, 121.530, 0.008, 38, "羽山路 浦东大道 崮山路 桃林路"),
    _town("塘桥街道", "Tangqiao", 31.213, 121.518, 0.007, 24, "塘桥路 峨山路 蓝村路 浦建路"),
    _town("花木街道", "Huamu", 31.212, 121.553, 0.010, 45, "梅花路 芳甸路 锦绣路 东绣路"),
    _town("周家渡街道", "Zhoujiadu", 31.180, 121.498, 0.008, 40, "上南路 齐河路 云台路 昌里路"),
    _town("上钢新村街道", "Shanggang Xincun", 31.177, 121.480, 0.007, 30, "上南路 长清路 德州路 耀华路"),
    _town("南码头路街道", "Nanmatou Road", 31.197, 121.508, 0.006, 26, "南码头路 浦东南路 临沂路 浦三路"),
    _town("沪东新村街道", "Hudong Xincun", 31.266, 121.565, 0.007, 30, "东陆路 莱阳路 长岛路 五莲路"),
    _town("金杨新村街道", "Jinyang Xincun", 31.258, 121.550, 0.008, 42, "金杨路 博山东路 罗山路 灵山路"),
    _town("浦兴路街道", "Puxing Road", 31.272, 121.542, 0.007, 32, "浦兴路 长岛路 荷泽路 金桥路"),
    _town("东明路街道", "Dongming Road", 31.158, 121.505, 0.007, 30, "东明路 凌兆路 灵岩南路 三林路"),
    _town("川沙新镇", "Chuansha New Town", 31.190, 121.700, 0.040, 95, "川沙路 华夏东路 妙境路 新川路"),
    _town("高桥镇", "Gaoqiao", 31.345, 121.575, 0.020, 45, "季景路 石家街 西街 草高支路"),
    _town("北蔡镇", "Beicai", 31.185, 121.555, 0.015, 55, "沪南路 莲溪路 陈春路 御桥路"),
    _town("合庆镇", "Heqing", 31.232, 121.745, 0.030, 40, "庆达路 东川公路 朝阳路"),
    _town("唐镇", "Tangzhen", 31.215, 121.660, 0.020, 40, "唐陆公路 创新中路 齐爱路 唐安路"),
    _town("曹路镇", "Caolu", 31.275, 121.672, 0.025, 50, "金海路 顾曹路 民雪路 川沙路"),
    _town("金桥镇", "Jinqiao", 31.252, 121.600, 0.015, 30, "金桥路 金港路 新金桥路 金高路"),
    _town("高行镇", "Gaohang", 31.295, 121.590, 0.015, 32, "东靖路 高行路 华东路 金高路"),
    _town("高东镇", "Gaodong", 31.318, 121.625, 0.020, 28, "光明路 高东路 张杨北路 江东路"),
    _town("张江镇", "Zhangjiang", 31.205, 121.600, 0.020, 45, "张江路 祖冲之路 碧波路 龙东大道"),
    _town("三林镇", "Sanlin", 31.148, 121.515, 0.020, 80, "三林路 永泰路 海阳西路 林展路"),
    _town("惠南镇", "Huinan", 31.050, 121.760, 0.025, 60, "人民东路 拱极路 城南路 听潮路"),
    _town("周浦镇", "Zhoupu", 31.115, 121.570, 0.020, 45, "沪南公路 年家浜路 瑞浦路 周园路"),
    _town("新场镇", "Xinchang", 31.020, 121.650, 0.020, 30, "新场大街 沪南公路 新环北路"),
    _town("大团镇", "Datuan", 30.980, 121.730, 0.020, 28, "永春东路 沪南公路 大团北路"),
    _town("康桥镇", "Kangqiao", 31.145, 121.585, 0.020, 40, "康桥路 秀沿路 沪南公路 康士路"),
    _town("航头镇", "Hangtou", 31.040, 121.600, 0.020, 35, "航头路 沪南公路 鹤沙路 航都路"),
    _town("祝桥镇", "Zhuqiao", 31.110, 121.760, 0.030, 50, "南祝公路 川南奉公路 金闻路"),
    _town("泥城镇", "Nicheng", 30.910, 121.830, 0.020, 28, "云端路 泥城路 两港大道 彭平路"),
    _town("宣桥镇", "Xuanqiao", 31.060, 121.690, 0.020, 22, "宣春路 南六公路 三灶路"),
    _town("书院镇", "Shuyuan", 30.960, 121.860, 0.020, 25, "丽正路 新欣南路 人民西路"),
    _town("万祥镇", "Wanxiang", 30.960, 121.800, 0.015, 15, "万三公路 东尚公路 宏祥北路"),
    _town("老港镇", "Laogang", 31.060, 121.840, 0.020, 20, "东建路 中港路 老芦公路"),
    _town("南汇新城镇", "Nanhui New City", 30.900, 121.920, 0.025, 30, "环湖西一路 水芸路 申港大道 古棕路"),
)

#: (format, weight).  Format: `;`-separated groups of "<days> HH:MM-HH:MM" where days is an ISO weekday
#: (1=Mon..7=Sun) or a range `a-b`.
OPENING_HOURS: tuple[tuple[str, int], ...] = (
    ("1-5 09:00-17:00;6 09:00-12:00", 62),
    ("1-7 08:30-20:00", 14),
    ("1-6 08:30-17:30", 14),
    ("1-5 09:00-17:00", 6),
    ("1-5 08:30-17:00;6-7 09:00-11:30", 4),
)

_PLACE_FIRST = "新华金明东兴丰永安和福康长春建光民友联德红桥园湾泾虹桃梅花荷竹松云海阳秀锦翠汇盛"
_PLACE_SECOND = "星光华苑城园丰桥塘港湾浜泾林宁安欣乐福兴农庄河南北东西中"


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights` exactly (largest remainder), so the world always has
    precisely `total` stations whatever the weights add up to."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _position(rng: random.Random, town: Town) -> tuple[float, float]:
    """A point uniformly inside the town's disc, clamped into Pudong's box."""
    distance = town.radius_deg * math.sqrt(rng.random())
    angle = rng.uniform(0.0, 2.0 * math.pi)
    lat = town.lat + distance * math.sin(angle)
    lon = town.lon + distance * math.cos(angle) / math.cos(math.radians(town.lat))
    lat_min, lat_max, lon_min, lon_max = BBOX
    lat = min(max(lat, lat_min + 0.001), lat_max - 0.001)
    lon = min(max(lon, lon_min + 0.001), lon_max - 0.001)
    return round(lat, 6), round(lon, 6)


def _stations_of(
    rng: random.Random, town: Town, count: int, codes: list[str], first_number: int
) -> list[Station]:
    """`count` stations of one town.  The first is the town's service centre; the rest are village
    (村) or residential-area (居民区) stations with unique names."""
    hours = [h for h, _ in OPENING_HOURS]
    hour_weights = [w for _, w in OPENING_HOURS]
    used: set[str] = set()
    stations: list[Station] = []
    for i in range(count):
        road = rng.choice(town.roads)
        if i == 0:
            name = f"{town.name_zh}社区党群服务中心"
            address = f"上海市浦东新区{road}{rng.randint(1, 2999)}号"
        else:
            place = ""
            while not place or place in used:
                place = rng.choice(_PLACE_FIRST) + rng.choice(_PLACE_SECOND)
            used.add(place)
            if not town.is_subdistrict and rng.random() < 0.5:
                name = f"{town.name_zh}{place}村党群服务站"
                group, number = rng.randint(1, 12), rng.randint(1, 199)
                address = f"上海市浦东新区{town.name_zh}{place}村{group}组{number}号"
            else:
                suffix = rng.choice(("一站式服务站", "党群服务站"))
                name = f"{town.name_zh}{place}居民区{suffix}"
                address = f"上海市浦东新区{road}{rng.randint(1, 2999)}弄{rng.randint(1, 60)}号"
        lat, lon = _position(rng, town)
        offered = sorted(rng.sample(codes, rng.randint(4, 15)))
        phone = f"021-{rng.choice('356')}{rng.randint(0, 9_999_999):07d}"
        stations.append(
            Station(
                code=f"ZD-{first_number + i:04d}",
                name=name,
                town=town.name_zh,
                address=address,
                lon=lon,
                lat=lat,
                opening_hours=rng.choices(hours, hour_weights)[0],
                services=tuple(offered),
                phone=phone,
            )
        )
    return stations


def build_world(seed: int = DEFAULT_SEED) -> World:
    """Build the world for `seed`.  Pure: two calls with the same seed give equal worlds."""
    rng = random.Random(seed)
    codes = [s.code for s in SERVICES]
    counts = _allocate(STATION_COUNT, [t.weight for t in TOWNS])
    stations: list[Station] = []
    for town, count in zip(TOWNS, counts, strict=True):
        stations.extend(_stations_of(rng, town, count, codes, len(stations) + 1))
    return World(seed=seed, services=SERVICES, stations=tuple(stations))
