"""Pudong's geography in the seeded world: its 36 towns and subdistricts and 1,300 stations.

Stations are drawn from the world's main `random.Random(seed)` exactly as in the first release (the
gateway's tests pin station contents), so this module changes only when the geography does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

STATION_COUNT = 1300

#: Every station lies inside this box (lat_min, lat_max, lon_min, lon_max): the Pudong New Area.
BBOX = (30.85, 31.40, 121.45, 121.98)


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

#: Characters that make up the names of villages (村) and residential areas (居民区).
PLACE_FIRST = "新华金明东兴丰永安和福康长春建光民友联德红桥园湾泾虹桃梅花荷竹松云海阳秀锦翠汇盛"
PLACE_SECOND = "星光华苑城园丰桥塘港湾浜泾林宁安欣乐福兴农庄河南北东西中"


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
                place = rng.choice(PLACE_FIRST) + rng.choice(PLACE_SECOND)
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


def build_stations(rng: random.Random, codes: list[str]) -> tuple[Station, ...]:
    """Exactly `STATION_COUNT` stations, allotted to towns by weight, each offering some of `codes`."""
    counts = _allocate(STATION_COUNT, [t.weight for t in TOWNS])
    stations: list[Station] = []
    for town, count in zip(TOWNS, counts, strict=True):
        stations.extend(_stations_of(rng, town, count, codes, len(stations) + 1))
    return tuple(stations)
