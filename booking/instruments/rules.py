"""Pure catalogue rules: no Flask, no database."""

# National large-instrument categories (大型科研仪器分类), code -> (zh, en).
CATEGORIES = {
    "analytical": ("分析仪器", "Analytical instruments"),
    "physical_testing": ("物理性能测试仪器", "Physical property testing"),
    "electronic_measurement": ("电子测量仪器", "Electronic measurement"),
    "metrology": ("计量仪器", "Metrology instruments"),
    "medical_research": ("医学科研仪器", "Medical research instruments"),
    "special_testing": ("特种检测仪器", "Special testing instruments"),
    "earth_exploration": ("地球探测仪器", "Earth exploration instruments"),
    "atmospheric": ("大气探测仪器", "Atmospheric sounding instruments"),
    "marine": ("海洋仪器", "Marine instruments"),
    "astronomical": ("天文仪器", "Astronomical instruments"),
    "laser": ("激光器", "Lasers"),
    "nuclear": ("核仪器", "Nuclear instruments"),
    "process_experiment": ("工艺试验仪器", "Process and experiment equipment"),
    "computing": ("计算机及其配套设备", "Computers and peripherals"),
    "other": ("其他仪器", "Other instruments"),
}
STATUSES = ("active", "maintenance", "retired")
CUSTOMER_CLASSES = ("internal", "academic", "enterprise")
SERVICE_MODES = ("self_operated", "staff_operated")
LARGE_INSTRUMENT_MIN_FEN = 50_000_000  # 500,000 CNY


def customer_class(owner_org_id: int, customer_org_id: int, customer_org_kind: str) -> str:
    """Same organisation as the owner: internal; another university/institute: academic;
    an enterprise (or anyone else): enterprise."""
    if owner_org_id == customer_org_id:
        return "internal"
    if customer_org_kind in ("university", "institute"):
        return "academic"
    return "enterprise"
