"""Demo instruments (development only). small: the catalogues of the demo universities and
institute (47 instruments); city: generated ones added so the demo institutions own 200;
province: also 500 generated institutions with 20,000 instruments (bulk inserts), for
benchmarks. Idempotent: running it again changes nothing."""
import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import click
from sqlalchemy import func, insert, select, text

from booking.accounts.demo import ORGANISATIONS
from booking.accounts.models import Organisation
from booking.accounts.rules import make_credit_code
from booking.core.clock import local_midnight, now_utc
from booking.core.db import analyze, bulk_insert
from booking.extensions import db
from booking.instruments import classification, search_index
from booking.instruments.models import Instrument, OpeningHours, Rate

# (name_zh, name_en, model, manufacturer, category, value in 10,000 CNY, academic CNY/h,
#  capabilities)
CATALOGUE = {
    "dlut": ("分析测试中心", "0411-8470", [
        ("场发射扫描电子显微镜", "Field-emission scanning electron microscope", "SU8220",
         "Hitachi 日立", "analytical", 480, 300, "表面形貌观察\n能谱（EDS）元素分析\n背散射电子成像"),
        ("透射电子显微镜", "Transmission electron microscope", "JEM-F200", "JEOL 日本电子",
         "analytical", 1350, 600, "高分辨成像\n选区电子衍射\nSTEM-EDS 面扫描"),
        ("核磁共振波谱仪 400MHz", "NMR spectrometer 400 MHz", "AVANCE NEO 400", "Bruker 布鲁克",
         "analytical", 420, 200, "1H/13C 一维谱\nCOSY、HSQC、HMBC 二维谱"),
        ("核磁共振波谱仪 600MHz", "NMR spectrometer 600 MHz", "AVANCE NEO 600", "Bruker 布鲁克",
         "analytical", 1200, 400, "低温探头高灵敏测试\n蛋白质结构解析"),
        ("X射线衍射仪", "X-ray diffractometer", "SmartLab 9kW", "Rigaku 理学", "analytical", 260,
         150, "物相定性定量分析\n薄膜掠入射衍射\n高温原位衍射"),
        ("X射线光电子能谱仪", "X-ray photoelectron spectrometer", "ESCALAB Xi+",
         "Thermo Fisher 赛默飞", "analytical", 650, 400, "表面元素及化学态分析\n深度剖析"),
        ("电感耦合等离子体质谱仪", "ICP mass spectrometer", "iCAP RQ", "Thermo Fisher 赛默飞",
         "analytical", 180, 250, "痕量元素分析\n同位素比值测定"),
        ("高效液相色谱仪", "High-performance liquid chromatograph", "1260 Infinity II",
         "Agilent 安捷伦", "analytical", 55, 80, "有机物分离与定量\n纯度检测"),
        ("气相色谱-质谱联用仪", "Gas chromatograph-mass spectrometer", "8890-5977B",
         "Agilent 安捷伦", "analytical", 95, 150, "挥发性有机物定性定量\nNIST 谱库检索"),
        ("激光共聚焦显微镜", "Confocal laser scanning microscope", "LSM 980", "Zeiss 蔡司",
         "medical_research", 520, 260, "活细胞成像\n三维重构\n荧光共定位"),
        ("原子力显微镜", "Atomic force microscope", "Dimension Icon", "Bruker 布鲁克",
         "analytical", 310, 200, "表面三维形貌\n纳米力学性能"),
        ("万能材料试验机", "Universal testing machine", "5982", "Instron 英斯特朗",
         "physical_testing", 120, 100, "拉伸、压缩、弯曲试验\n高低温环境箱"),
        ("同步热分析仪", "Simultaneous thermal analyzer", "STA 449 F5", "Netzsch 耐驰",
         "physical_testing", 85, 100, "TG-DSC 同步测试\n热稳定性分析"),
        ("比表面及孔径分析仪", "Surface area and porosimetry analyzer", "ASAP 2460",
         "Micromeritics 麦克默瑞提克", "physical_testing", 70, 90, "BET 比表面积\n孔径分布"),
        ("傅里叶变换红外光谱仪", "FT-IR spectrometer", "Nicolet iS50", "Thermo Fisher 赛默飞",
         "analytical", 58, 80, "官能团鉴定\nATR 附件测试"),
        ("显微拉曼光谱仪", "Raman microscope", "inVia Qontor", "Renishaw 雷尼绍", "analytical",
         210, 150, "拉曼成像\n碳材料结构表征"),
        ("高分辨率工业CT", "Industrial X-ray computed tomography", "phoenix v|tome|x m",
         "Waygate Technologies", "special_testing", 980, 500, "内部缺陷无损检测\n三维尺寸测量"),
        ("矢量网络分析仪", "Vector network analyzer", "N5227B", "Keysight 是德科技",
         "electronic_measurement", 260, 150, "S 参数测试\n材料介电常数测量"),
        ("三坐标测量机", "Coordinate measuring machine", "PRISMO", "Zeiss 蔡司", "metrology",
         320, 180, "复杂零件几何尺寸检测\n形位公差评定"),
        ("飞秒激光器", "Femtosecond laser", "Astrella", "Coherent 相干", "laser", 450, 300,
         "超快光谱泵浦光源\n微纳加工"),
        ("高性能计算集群", "High-performance computing cluster", "TC6600", "Sugon 中科曙光",
         "computing", 1800, 40, "分子动力学模拟\n第一性原理计算"),
        ("流式细胞仪", "Flow cytometer", "CytoFLEX S", "Beckman Coulter 贝克曼库尔特",
         "medical_research", 95, 100, "细胞表型分析\n细胞周期与凋亡检测"),
        ("电子探针显微分析仪", "Electron probe microanalyzer", "JXA-8530F Plus", "JEOL 日本电子",
         "analytical", 1100, 450, "微区成分定量分析\n元素面分布"),
    ]),
    "ustl": ("材料与冶金学院测试中心", "0412-592", [
        ("场发射扫描电子显微镜", "Field-emission scanning electron microscope", "Sigma 300",
         "Zeiss 蔡司", "analytical", 350, 250, "断口形貌分析\nEBSD 织构分析"),
        ("直读光谱仪", "Spark optical emission spectrometer", "ARL iSpark 8860",
         "Thermo Fisher 赛默飞", "analytical", 150, 120, "钢铁材料成分快速分析"),
        ("X射线衍射仪", "X-ray diffractometer", "D8 ADVANCE", "Bruker 布鲁克", "analytical",
         240, 150, "物相分析\n残余应力测定\n织构测定"),
        ("热模拟试验机", "Thermomechanical simulator", "Gleeble 3800", "Dynamic Systems Inc.",
         "process_experiment", 900, 400, "热压缩变形模拟\n焊接热影响区模拟"),
        ("电液伺服疲劳试验机", "Servo-hydraulic fatigue testing machine", "8801",
         "Instron 英斯特朗", "physical_testing", 160, 120, "高周/低周疲劳试验\n断裂韧性测试"),
        ("摆锤冲击试验机", "Pendulum impact tester", "HIT450P", "ZwickRoell 兹韦克",
         "physical_testing", 55, 60, "夏比冲击试验\n低温冲击试验"),
        ("透射电子显微镜", "Transmission electron microscope", "Talos F200X",
         "Thermo Fisher 赛默飞", "analytical", 1500, 600, "析出相表征\n位错观察"),
        ("碳硫分析仪", "Carbon/sulfur analyzer", "CS844", "LECO 力可", "analytical", 60, 60,
         "金属中碳、硫含量测定"),
        ("氧氮氢分析仪", "Oxygen/nitrogen/hydrogen analyzer", "ONH836", "LECO 力可",
         "analytical", 90, 80, "金属中气体元素测定"),
        ("三维激光共聚焦显微镜", "3D laser scanning confocal microscope", "OLS5100",
         "Evident 仪景通", "metrology", 150, 100, "表面粗糙度\n三维形貌测量"),
        ("电感耦合等离子体发射光谱仪", "ICP optical emission spectrometer", "Avio 550 Max",
         "PerkinElmer 珀金埃尔默", "analytical", 80, 100, "多元素同时测定\n矿石成分分析"),
        ("相控阵超声检测仪", "Phased-array ultrasonic flaw detector", "OmniScan X3",
         "Evident 仪景通", "special_testing", 65, 80, "焊缝无损检测\n内部缺陷定位"),
    ]),
    "dicp": ("分析测试中心", "0411-8437", [
        ("核磁共振波谱仪 800MHz", "NMR spectrometer 800 MHz", "AVANCE NEO 800", "Bruker 布鲁克",
         "analytical", 2000, 800, "生物大分子结构\n固体核磁测试"),
        ("傅里叶变换离子回旋共振质谱仪", "FT-ICR mass spectrometer", "solariX 2XR",
         "Bruker 布鲁克", "analytical", 1900, 800, "超高分辨质谱\n石油组学分析"),
        ("液相色谱-质谱联用仪", "Liquid chromatograph-mass spectrometer",
         "Orbitrap Exploris 480", "Thermo Fisher 赛默飞", "analytical", 650, 400,
         "蛋白质组学\n代谢组学"),
        ("超高效液相色谱仪", "Ultra-performance liquid chromatograph", "ACQUITY UPLC H-Class",
         "Waters 沃特世", "analytical", 65, 80, "快速分离分析\n方法开发"),
        ("气相色谱仪", "Gas chromatograph", "GC-2030", "Shimadzu 岛津", "analytical", 50, 60,
         "气体组成分析\n催化反应产物分析"),
        ("球差校正透射电子显微镜", "Aberration-corrected transmission electron microscope",
         "JEM-ARM300F2", "JEOL 日本电子", "analytical", 2000, 1000, "原子分辨成像\n单原子催化剂表征"),
        ("原位红外光谱仪", "In-situ FT-IR spectrometer", "VERTEX 70v", "Bruker 布鲁克",
         "analytical", 120, 120, "原位反应红外\n吸附物种表征"),
        ("电子顺磁共振波谱仪", "EPR spectrometer", "EMXplus", "Bruker 布鲁克", "analytical",
         380, 250, "自由基检测\n过渡金属价态分析"),
        ("化学吸附仪", "Chemisorption analyzer", "AutoChem II 2920",
         "Micromeritics 麦克默瑞提克", "analytical", 55, 80, "程序升温还原/脱附\n金属分散度"),
        ("单晶X射线衍射仪", "Single-crystal X-ray diffractometer", "XtaLAB Synergy",
         "Rigaku 理学", "analytical", 480, 300, "晶体结构解析\n绝对构型测定"),
        ("超快瞬态吸收光谱系统", "Ultrafast transient absorption spectrometer", "Helios Fire",
         "Ultrafast Systems", "laser", 600, 400, "激发态动力学\n载流子寿命测量"),
        ("X射线光电子能谱仪", "X-ray photoelectron spectrometer", "AXIS SUPRA+", "Kratos 岛津",
         "analytical", 700, 400, "表面化学态分析\n准原位 XPS"),
    ]),
}


@dataclass(frozen=True)
class Sharing:
    """How actively one of the other providers shares (accounts.demo.PROVIDERS). The bookings
    demo reads `activity`, the share of opening days with bookings, and `decide_hours`, how
    long a request waits for the manager's decision."""
    lab: str
    instruments: tuple[tuple[str, int], ...]  # (CATALOGUE key, index): models it also owns
    activity: float
    long_hours: bool = False  # open 08:00-22:00 every day rather than office hours
    decide_hours: tuple[int, int] = (1, 20)


# From busiest to least active, so that the ranking shows every grade.
SHARING = {
    "dlmu": Sharing("轮机工程测试中心", (("dlut", 0), ("dlut", 4), ("dlut", 18), ("dlut", 17)),
                    activity=1.0, long_hours=True, decide_hours=(1, 4)),
    "pilot": Sharing("中试检测平台", (("dlut", 11), ("dlut", 16), ("dlut", 12), ("ustl", 0)),
                     activity=0.45, long_hours=True, decide_hours=(1, 6)),
    "djtu": Sharing("轨道交通材料检测中心", (("ustl", 0), ("ustl", 4), ("dlut", 18)),
                    activity=0.55, long_hours=True),
    "dlpu": Sharing("轻工与化学工程测试中心", (("dlut", 7), ("dlut", 8), ("dlut", 14), ("dlut", 4)),
                    activity=0.45, long_hours=True),
    "dmu": Sharing("医学科研实验中心", (("dlut", 9), ("dlut", 21), ("dicp", 2)), activity=0.9),
    "lnnu": Sharing("化学化工学院测试中心", (("dlut", 2), ("dlut", 14), ("dlut", 15)),
                    activity=0.8),
    "incubator": Sharing("公共测试平台", (("dlut", 0), ("dlut", 4), ("dlut", 6)), activity=0.3,
                         long_hours=True),
    "asnu": Sharing("化学与生命科学学院实验中心", (("dlut", 4), ("dlut", 14), ("dlut", 12)),
                    activity=0.2, decide_hours=(24, 120)),
    "dlnu": Sharing("环境与资源学院实验室", (("dlut", 8), ("dlut", 7), ("dlut", 10)),
                    activity=0.15, decide_hours=(48, 200)),
}
RATES_FROM = local_midnight(date(2025, 1, 1))  # the day the demo's prices took effect
CONTACTS = ("王磊", "李娜", "张静", "刘洋", "陈晨", "杨帆", "赵敏", "黄涛", "周杰", "吴婷")
BUILDINGS = {"dlut": "西部校区分析测试中心", "ustl": "冶金楼", "dicp": "星海园区测试楼",
             **{key: sharing.lab for key, sharing in SHARING.items()}}
HOURS = [(d, time(8, 30), time(12)) for d in range(5)] + \
        [(d, time(13, 30), time(17, 30)) for d in range(5)]
LONG_HOURS = [(d, time(8), time(22)) for d in range(7)]


def _rates(academic_yuan: int) -> dict[str, int]:
    """internal <= academic <= enterprise, in fen, rounded to 10 CNY."""
    def ten(yuan: Decimal) -> int:
        return max(10, int(yuan / 10) * 10) * 100

    return {"internal": ten(Decimal(academic_yuan) * Decimal("0.6")),
            "academic": academic_yuan * 100,
            "enterprise": ten(Decimal(academic_yuan) * Decimal("1.6"))}


LABS_EN = {
    "分析测试中心": "Analysis and Testing Center",
    "材料与冶金学院测试中心": "Testing Center, School of Materials and Metallurgy",
    "轮机工程测试中心": "Marine Engineering Testing Center",
    "中试检测平台": "Pilot-scale Testing Platform",
    "轨道交通材料检测中心": "Rail Transit Materials Testing Center",
    "轻工与化学工程测试中心": "Light Industry and Chemical Engineering Testing Center",
    "医学科研实验中心": "Medical Research Laboratory Center",
    "化学化工学院测试中心": "Testing Center, School of Chemistry and Chemical Engineering",
    "公共测试平台": "Public Testing Platform",
    "化学与生命科学学院实验中心": "Laboratory Center, School of Chemistry and Life Sciences",
    "环境与资源学院实验室": "Laboratory, School of Environment and Resources",
    "材料学院": "School of Materials", "化学学院": "School of Chemistry",
    "机械工程学院": "School of Mechanical Engineering", "生命科学学院": "School of Life Sciences",
    "物理学院": "School of Physics", "环境学院": "School of Environment",
    "电子信息学院": "School of Electronic Information",
}
CAPABILITIES_EN = {  # the catalogue's typical tests, for English pages
    "表面形貌观察": "Surface morphology",
    "能谱（EDS）元素分析": "Elemental analysis by EDS",
    "背散射电子成像": "Backscattered electron imaging",
    "高分辨成像": "High-resolution imaging",
    "选区电子衍射": "Selected-area electron diffraction",
    "STEM-EDS 面扫描": "STEM-EDS mapping",
    "1H/13C 一维谱": "1H/13C one-dimensional spectra",
    "COSY、HSQC、HMBC 二维谱": "COSY, HSQC and HMBC two-dimensional spectra",
    "低温探头高灵敏测试": "High-sensitivity measurements with a cryoprobe",
    "蛋白质结构解析": "Protein structure determination",
    "物相定性定量分析": "Qualitative and quantitative phase analysis",
    "薄膜掠入射衍射": "Grazing-incidence diffraction of thin films",
    "高温原位衍射": "High-temperature in-situ diffraction",
    "表面元素及化学态分析": "Surface elements and chemical states",
    "深度剖析": "Depth profiling",
    "痕量元素分析": "Trace element analysis",
    "同位素比值测定": "Isotope ratio measurement",
    "有机物分离与定量": "Separation and quantification of organic compounds",
    "纯度检测": "Purity testing",
    "挥发性有机物定性定量": "Identification and quantification of volatile organic compounds",
    "NIST 谱库检索": "NIST library search",
    "活细胞成像": "Live-cell imaging",
    "三维重构": "3D reconstruction",
    "荧光共定位": "Fluorescence colocalisation",
    "表面三维形貌": "3D surface topography",
    "纳米力学性能": "Nanomechanical properties",
    "拉伸、压缩、弯曲试验": "Tensile, compression and bending tests",
    "高低温环境箱": "Environmental chamber (high and low temperature)",
    "TG-DSC 同步测试": "Simultaneous TG-DSC",
    "热稳定性分析": "Thermal stability analysis",
    "BET 比表面积": "BET specific surface area",
    "孔径分布": "Pore size distribution",
    "官能团鉴定": "Functional group identification",
    "ATR 附件测试": "ATR accessory measurements",
    "拉曼成像": "Raman imaging",
    "碳材料结构表征": "Structure of carbon materials",
    "内部缺陷无损检测": "Non-destructive testing of internal defects",
    "三维尺寸测量": "3D dimensional measurement",
    "S 参数测试": "S-parameter measurement",
    "材料介电常数测量": "Dielectric constant of materials",
    "复杂零件几何尺寸检测": "Geometry of complex parts",
    "形位公差评定": "Geometric tolerance evaluation",
    "超快光谱泵浦光源": "Pump source for ultrafast spectroscopy",
    "微纳加工": "Micro- and nanofabrication",
    "分子动力学模拟": "Molecular dynamics simulation",
    "第一性原理计算": "First-principles calculation",
    "细胞表型分析": "Cell phenotyping",
    "细胞周期与凋亡检测": "Cell cycle and apoptosis assays",
    "微区成分定量分析": "Quantitative microanalysis",
    "元素面分布": "Elemental mapping",
    "断口形貌分析": "Fractography",
    "EBSD 织构分析": "Texture analysis by EBSD",
    "钢铁材料成分快速分析": "Rapid composition analysis of steels",
    "物相分析": "Phase analysis",
    "残余应力测定": "Residual stress measurement",
    "织构测定": "Texture measurement",
    "热压缩变形模拟": "Hot compression simulation",
    "焊接热影响区模拟": "Weld heat-affected zone simulation",
    "高周/低周疲劳试验": "High- and low-cycle fatigue tests",
    "断裂韧性测试": "Fracture toughness tests",
    "夏比冲击试验": "Charpy impact tests",
    "低温冲击试验": "Low-temperature impact tests",
    "析出相表征": "Precipitate characterisation",
    "位错观察": "Dislocation imaging",
    "金属中碳、硫含量测定": "Carbon and sulphur in metals",
    "金属中气体元素测定": "Gases (O, N, H) in metals",
    "表面粗糙度": "Surface roughness",
    "三维形貌测量": "3D topography measurement",
    "多元素同时测定": "Simultaneous multi-element analysis",
    "矿石成分分析": "Ore composition analysis",
    "焊缝无损检测": "Non-destructive testing of welds",
    "内部缺陷定位": "Locating internal defects",
    "生物大分子结构": "Structure of biological macromolecules",
    "固体核磁测试": "Solid-state NMR",
    "超高分辨质谱": "Ultra-high-resolution mass spectrometry",
    "石油组学分析": "Petroleomics",
    "蛋白质组学": "Proteomics",
    "代谢组学": "Metabolomics",
    "快速分离分析": "Fast separations",
    "方法开发": "Method development",
    "气体组成分析": "Gas composition analysis",
    "催化反应产物分析": "Catalytic reaction products",
    "原子分辨成像": "Atomic-resolution imaging",
    "单原子催化剂表征": "Single-atom catalyst characterisation",
    "原位反应红外": "In-situ reaction IR",
    "吸附物种表征": "Adsorbed species characterisation",
    "自由基检测": "Radical detection",
    "过渡金属价态分析": "Oxidation states of transition metals",
    "程序升温还原/脱附": "Temperature-programmed reduction and desorption",
    "金属分散度": "Metal dispersion",
    "晶体结构解析": "Crystal structure determination",
    "绝对构型测定": "Absolute configuration",
    "激发态动力学": "Excited-state dynamics",
    "载流子寿命测量": "Carrier lifetime measurement",
    "表面化学态分析": "Surface chemical states",
    "准原位 XPS": "Quasi-in-situ XPS",
}
BUILDINGS_EN = {"dlut": "Analysis and Testing Center, West Campus", "ustl": "Metallurgy Building",
                "dicp": "Testing Building, Xinghai Campus",
                **{key: LABS_EN[sharing.lab] for key, sharing in SHARING.items()}}


def _fields(key: str, n: int, entry: tuple, lab: str, phone: str) -> dict:
    name_zh, name_en, model, maker, category, wan, _academic, capabilities = entry
    large = wan >= 500
    return dict(
        name_zh=name_zh, name_en=name_en, model=model, manufacturer=maker, category=category,
        national_class=classification.suggest(name_zh, category),
        asset_number=f"{key.upper()}-{2012 + n % 12}-{n:04d}",
        original_value_fen=wan * 1_000_000, purchase_date=date(2012 + n % 12, 1 + n % 12, 10),
        lab=lab, lab_en=LABS_EN.get(lab, ""), location=f"{BUILDINGS[key]} {100 + n * 7 % 400} 室",
        contact_name=CONTACTS[n % len(CONTACTS)], contact_phone=f"{phone}{1000 + n * 37:04d}",
        contact_email=f"instrument{n:02d}@{key}.demo.cn",
        description=f"{name_zh}（{maker} {model}），面向校内外开放共享，可提供自主上机与送样检测服务。",
        description_en=f"{name_en} ({maker} {model}), shared with users inside and outside the "
        "university: book it to operate it yourself, or send samples for the lab to test.",
        capabilities_en="\n".join(CAPABILITIES_EN[line] for line in capabilities.split("\n")),
        location_en=f"Room {100 + n * 7 % 400}, {BUILDINGS_EN[key]}",
        capabilities=capabilities, status="maintenance" if n % 17 == 5 else "active",
        is_public=n % 23 != 7, requires_approval=large or n % 3 == 0,
        requires_qualification=large, qualification_lapse_days=180 if large else None,
        allows_self_operated=not large or n % 2 == 0, allows_staff_operated=True,
        per_sample_fee_fen=20_000 if large else 10_000, **_listed(n))


def _listed(n: int) -> dict:
    """When the instrument was listed and last reviewed: most long since, every eleventh in
    the last weeks (the bulletin's new instruments), every ninth not reviewed for 200 days
    (its stale listings). Listed at the seed's moment, every one was new and none stale."""
    now = now_utc()
    listed = now - timedelta(days=n % 40 + 3 if n % 11 == 3 else 420 + n * 5)
    reviewed = now - timedelta(days=200 if n % 9 == 4 else n * 3)
    return {"created_at": listed, "info_updated_at": max(listed, reviewed)}


def _organisation(key: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(
        Organisation.credit_code == ORGANISATIONS[key]["credit_code"]))


def seed_catalogue() -> int:
    """The demo institutions' instruments; existing ones (same owner and name) are kept."""
    catalogues = [(key, lab, phone, entries, HOURS)
                  for key, (lab, phone, entries) in CATALOGUE.items()]
    catalogues += [(key, sharing.lab, "0411-8888", [CATALOGUE[k][2][n] for k, n in
                                                     sharing.instruments],
                    LONG_HOURS if sharing.long_hours else HOURS)
                   for key, sharing in SHARING.items()]
    return sum(_seed_instruments(*catalogue) for catalogue in catalogues)


def _seed_instruments(key: str, lab: str, phone: str, entries: list, hours: list) -> int:
    organisation = _organisation(key)
    if organisation is None:
        return 0
    existing = set(db.session.scalars(select(Instrument.name_zh).where(
        Instrument.organisation_id == organisation.id)))
    added = 0
    for n, entry in enumerate(entries):
        if entry[0] in existing:
            continue
        instrument = Instrument(organisation=organisation, **_fields(key, n, entry, lab, phone))
        instrument.rates = [Rate(customer_class=c, hourly_fen=fen, valid_from=RATES_FROM)
                            for c, fen in _rates(entry[6]).items()]
        instrument.opening_hours = [OpeningHours(weekday=d, opens=o, closes=c)
                                    for d, o, c in hours]
        db.session.add(instrument)
        search_index.reindex(instrument)
        added += 1
    return added


# --- generated instruments: city and province scales ---------------------------------------

CITIES = (("沈阳", "2101"), ("大连", "2102"), ("鞍山", "2103"), ("抚顺", "2104"), ("本溪", "2105"),
          ("丹东", "2106"), ("锦州", "2107"), ("营口", "2108"), ("阜新", "2109"), ("辽阳", "2110"),
          ("盘锦", "2111"), ("铁岭", "2112"), ("朝阳", "2113"), ("葫芦岛", "2114"))
INSTITUTION_KINDS = (("理工大学", "university"), ("工业大学", "university"),
                     ("师范大学", "university"), ("医科大学", "university"),
                     ("化工研究院", "institute"), ("材料研究所", "institute"),
                     ("海洋研究所", "institute"), ("工程技术研究中心", "institute"))
CITY_INSTRUMENTS = 200
PROVINCE_INSTITUTIONS = 500
PROVINCE_INSTRUMENTS_EACH = 40
PROVINCE_PRICES = (40, 60, 80, 100, 150, 200, 300, 400, 600)
LABS = ("分析测试中心", "材料学院", "化学学院", "机械工程学院", "生命科学学院", "物理学院",
        "环境学院", "电子信息学院")


def _province_code(n: int) -> str:
    return make_credit_code(f"12210000PR{n:07d}")


def _province_organisations() -> list[dict]:
    rows = []
    for n in range(PROVINCE_INSTITUTIONS):
        city, region = CITIES[n % len(CITIES)]
        suffix, kind = INSTITUTION_KINDS[n // len(CITIES) % len(INSTITUTION_KINDS)]
        rows.append(dict(kind=kind, name_zh=f"{city}{suffix}（第{n + 1}号）",
                         name_en=f"Liaoning demo institution {n + 1}", city=city,
                         region_code=region, credit_code=_province_code(n), verified=True,
                         short_code=f"PV{n:04d}", created_at=now_utc()))
    return rows


def _generated_instrument(rng: random.Random, organisation_id: int, n: int) -> dict:
    entries = [e for _lab, _phone, group in CATALOGUE.values() for e in group]
    entry = rng.choice(entries)
    fields = _fields("dlut", n, entry, rng.choice(LABS), "024-2389")
    fields.update(organisation_id=organisation_id, location=f"{rng.randint(1, 30)}号楼 "
                  f"{rng.randint(101, 599)} 室", created_at=now_utc(),
                  contact_email=f"lab{n:02d}@org{organisation_id}.demo.cn",
                  name_zh=entry[0] if n % 4 else f"{entry[0]}（{entry[2]}）")
    return fields


def _bulk_instruments(rows: list[dict], academic: list[int], organisations: dict) -> None:
    first = (db.session.scalar(select(func.max(Instrument.id))) or 0) + 1
    ids = range(first, first + len(rows))
    bulk_insert(db.session, Instrument.__table__,
                [dict(row, id=i) for i, row in zip(ids, rows, strict=True)])
    analyze(db.session, Instrument.__table__)  # their rates' and hours' foreign key checks
    bulk_insert(db.session, Rate.__table__, [
        dict(instrument_id=i, customer_class=c, hourly_fen=fen, rounding_minutes=15,
             minimum_minutes=30, setup_fee_fen=0, valid_from=RATES_FROM,
             created_at=now_utc())
        for i, yuan in zip(ids, academic, strict=True) for c, fen in _rates(yuan).items()])
    bulk_insert(db.session, OpeningHours.__table__, [
        dict(instrument_id=i, weekday=d, opens=o, closes=c) for i in ids for d, o, c in HOURS],
        fire_triggers=False)  # new instruments: no calendar of theirs is kept anywhere yet
    search_index.write([
        search_index.document(SimpleNamespace(
            id=i, organisation=organisations[row["organisation_id"]], **row))
        for i, row in zip(ids, rows, strict=True)])
    if db.session.get_bind().dialect.name == "postgresql":  # ids were given explicitly
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('instruments', 'id'), "
                                "(SELECT max(id) FROM instruments))"))


def seed_city() -> None:
    """Top the demo institutions up to CITY_INSTRUMENTS instruments."""
    organisations = [o for o in map(_organisation, CATALOGUE) if o is not None]
    ids = [o.id for o in organisations]
    existing = db.session.scalar(select(func.count()).select_from(Instrument).where(
        Instrument.organisation_id.in_(ids)))
    if not organisations or existing >= CITY_INSTRUMENTS:
        return
    rng = random.Random(2102)  # noqa: S311 - demo data, reproducible
    rows = [_generated_instrument(rng, ids[n % len(ids)], existing + n)
            for n in range(CITY_INSTRUMENTS - existing)]
    _bulk_instruments(rows, [rng.choice(PROVINCE_PRICES) for _row in rows],
                      {o.id: o for o in organisations})


def seed_province() -> None:
    if db.session.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.credit_code == _province_code(0))):
        return
    db.session.execute(insert(Organisation), _province_organisations())
    organisations = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.credit_code.like("12210000PR%")))}
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    org_ids = sorted(organisations)
    with click.progressbar(length=len(org_ids), label="Province instruments") as bar:
        for start in range(0, len(org_ids), 25):
            chunk = org_ids[start:start + 25]
            rows = [_generated_instrument(rng, org_id, n) for org_id in chunk
                    for n in range(PROVINCE_INSTRUMENTS_EACH)]
            academic = [rng.choice(PROVINCE_PRICES) for _row in rows]
            _bulk_instruments(rows, academic, organisations)
            bar.update(len(chunk))


def seed(scale: str) -> None:
    seed_catalogue()
    if scale in ("city", "province"):
        seed_city()
    if scale == "province":
        seed_province()
