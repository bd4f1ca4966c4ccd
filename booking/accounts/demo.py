"""Demo organisations and the demo accounts of DESIGN.md §5 (development only)."""
from datetime import date

from sqlalchemy import func, insert, select, text

from booking.accounts import services
from booking.accounts.models import Organisation, Role, User
from booking.accounts.rules import make_credit_code
from booking.core.clock import now_utc
from booking.extensions import db

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - documented demo login

# key -> organisation fields. Credit codes are synthetic but carry a valid check character.
ORGANISATIONS = {
    "bureau": dict(kind="bureau", name_zh="大连市科学技术局",
                   name_en="Dalian Science and Technology Bureau", city="大连",
                   region_code="2102", credit_code=make_credit_code("11210200MB1234567"),
                   short_code="DLKJ"),
    "dlut": dict(kind="university", name_zh="大连理工大学",
                 name_en="Dalian University of Technology", city="大连", region_code="2102",
                 credit_code=make_credit_code("12210000400004437"), short_code="DLUT"),
    "ustl": dict(kind="university", name_zh="辽宁科技大学",
                 name_en="University of Science and Technology Liaoning", city="鞍山",
                 region_code="2103", credit_code=make_credit_code("12210000464342567"),
                 short_code="USTL"),
    "dicp": dict(kind="institute", name_zh="中国科学院大连化学物理研究所",
                 name_en="Dalian Institute of Chemical Physics, CAS", city="大连",
                 region_code="2102", credit_code=make_credit_code("12100000400011233"),
                 short_code="DICP"),
    "sme": dict(kind="enterprise", name_zh="大连海创新材料科技有限公司",
                name_en="Dalian Haichuang New Materials Technology Co., Ltd.", city="大连",
                region_code="2102", credit_code=make_credit_code("91210213MA0Y4K7N2"),
                sme_certified=True, high_tech=False, founded_on=date(2019, 5, 16),
                staff_count=46, annual_revenue_fen=1_850_000_000,
                total_assets_fen=2_400_000_000, registered_capital_fen=1_000_000_000,
                actual_controller="王海"),
    "sme_anshan": dict(kind="enterprise", name_zh="鞍山钢研检测技术有限公司",
                       name_en="Anshan Gangyan Testing Technology Co., Ltd.", city="鞍山",
                       region_code="2103", credit_code=make_credit_code("91210300MA10Q8D3X"),
                       sme_certified=True, founded_on=date(2021, 3, 2), staff_count=18,
                       annual_revenue_fen=420_000_000, total_assets_fen=600_000_000,
                       registered_capital_fen=500_000_000, actual_controller="李钢"),
    "sme_xinghai": dict(kind="enterprise", name_zh="大连星海精密仪器有限公司",
                        name_en="Dalian Xinghai Precision Instruments Co., Ltd.", city="大连",
                        region_code="2102", credit_code=make_credit_code("91210200MA0Y5P8Q1"),
                        sme_certified=True, founded_on=date(2020, 9, 8), staff_count=32,
                        annual_revenue_fen=960_000_000, total_assets_fen=1_100_000_000,
                        registered_capital_fen=300_000_000, actual_controller="林涛"),
    "bigco": dict(kind="enterprise", name_zh="大连重型装备集团有限公司",
                  name_en="Dalian Heavy Equipment Group Co., Ltd.", city="大连",
                  region_code="2102", credit_code=make_credit_code("91210200241287654"),
                  sme_certified=False, founded_on=date(1995, 8, 1), staff_count=6800,
                  annual_revenue_fen=1_200_000_000_000, total_assets_fen=3_500_000_000_000,
                  registered_capital_fen=200_000_000_000, actual_controller="大连市国资委"),
}
# The other providers of the demo city, each with a lab manager manager.<key>@demo.cn and a
# few instruments (instruments.demo.SHARING says how actively each shares), so that a ranking
# has a dozen units. The pilot-scale base and the incubator's platform are public institutions,
# the kind of provider the policy admits.
PROVIDERS = {
    "dlmu": ("university", "大连海事大学", "Dalian Maritime University", "大连", "2102",
             "12210000400008123", "DLMU", "郑海"),
    "djtu": ("university", "大连交通大学", "Dalian Jiaotong University", "大连", "2102",
             "12210000400009234", "DJTU", "冯涛"),
    "dlpu": ("university", "大连工业大学", "Dalian Polytechnic University", "大连", "2102",
             "12210000400010345", "DLPU", "韩雪"),
    "dmu": ("university", "大连医科大学", "Dalian Medical University", "大连", "2102",
            "12210000400011456", "DMU", "曹颖"),
    "lnnu": ("university", "辽宁师范大学", "Liaoning Normal University", "大连", "2102",
             "12210000400012567", "LNNU", "许静"),
    "asnu": ("university", "鞍山师范学院", "Anshan Normal University", "鞍山", "2103",
             "12210300464300678", "ASNU", "邓刚"),
    "dlnu": ("university", "大连民族大学", "Dalian Minzu University", "大连", "2102",
             "12210000400013789", "DLNU", "彭飞"),
    "pilot": ("institute", "大连先进材料中试基地", "Dalian Advanced Materials Pilot-Scale Base",
              "大连", "2102", "12210200MB0001234", "DLZS", "董建"),
    "incubator": ("institute", "大连高新区创业孵化中心公共技术服务平台",
                  "Dalian Hi-tech Zone Incubator Public Testing Platform", "大连", "2102",
                  "12210200MB0002345", "DLFH", "谢晨"),
}
ORGANISATIONS.update({
    key: dict(kind=kind, name_zh=zh, name_en=en, city=city, region_code=region,
              credit_code=make_credit_code(code), short_code=short)
    for key, (kind, zh, en, city, region, code, short, _manager) in PROVIDERS.items()})

# e-mail -> (name, organisation key, roles)
ACCOUNTS = {
    "admin@demo.cn": ("平台管理员", "bureau", ("admin",)),
    "bureau@demo.cn": ("赵科", "bureau", ("bureau_staff",)),
    "manager.dlut@demo.cn": ("陈明", "dlut", ("lab_manager",)),
    "finance.dlut@demo.cn": ("刘芳", "dlut", ("finance",)),
    "student.dlut@demo.cn": ("张伟", "dlut", ("student",)),
    "manager.ustl@demo.cn": ("孙强", "ustl", ("lab_manager",)),
    "finance.ustl@demo.cn": ("吴静", "ustl", ("finance",)),  # its bookings are billed too
    "researcher.ustl@demo.cn": ("周丽", "ustl", ("member",)),
    "sme@demo.cn": ("王海", "sme", ("member",)),
    "sme.anshan@demo.cn": ("李钢", "sme_anshan", ("member",)),
    "sme.xinghai@demo.cn": ("林涛", "sme_xinghai", ("member",)),
    "bigco@demo.cn": ("吴刚", "bigco", ("member",)),
}
# the one person who runs a small provider's shared instruments also keeps its books (only
# finance staff record a bank transfer; the demo's payments need someone who may)
PROVIDER_MANAGERS = {f"manager.{key}@demo.cn": (provider[-1], key, ("lab_manager", "finance"))
                     for key, provider in PROVIDERS.items()}


def seed_accounts() -> dict[str, Organisation]:
    """Create what is missing; running it again changes nothing."""
    organisations = {}
    for key, fields in ORGANISATIONS.items():
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.credit_code == fields["credit_code"]))
        if organisation is None:
            organisation = Organisation(verified=True, **fields)
            db.session.add(organisation)
        organisations[key] = organisation
    db.session.flush()
    for email, (name, org_key, roles) in {**ACCOUNTS, **PROVIDER_MANAGERS}.items():
        if services.get_user_by_email(email) is None:
            user = services.create_user(email=email, password=DEMO_PASSWORD, name=name,
                                        organisation=organisations[org_key], roles=roles)
            user.last_login_at = now_utc()  # in use for a year: not a pending invitation
    return organisations


# City and province scales: the peer benchmark's 500 users in all (../shared/peer-bench).
SCALE_USERS = {"city": 500, "province": 500}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平")
# (organisation key, role): researchers and students of the providers, staff of the enterprises
MEMBER_MIX = (("dlut", "member"), ("dlut", "student"), ("ustl", "member"), ("ustl", "student"),
              ("dicp", "member"), ("sme", "member"), ("sme_anshan", "member"),
              ("bigco", "member"))


def seed_users(organisations: dict[str, Organisation], total: int) -> None:
    """Generated members (user{n}@demo.cn, the demo password) up to `total` users, bulk-inserted
    with one password hash (hashing 500 times would take a minute)."""
    missing = total - db.session.scalar(select(func.count()).select_from(User))
    if missing <= 0:
        return
    first = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    probe = User()
    probe.set_password(DEMO_PASSWORD)
    users, roles = [], []
    for n in range(first, first + missing):
        key, role = MEMBER_MIX[n % len(MEMBER_MIX)]
        org = organisations[key]
        users.append(dict(id=n, email=f"user{n}@demo.cn", password_hash=probe.password_hash,
                          name=SURNAMES[n % len(SURNAMES)] + GIVEN[n // len(SURNAMES) % len(GIVEN)],
                          organisation_id=org.id, membership_confirmed=True, created_at=now_utc(),
                          last_login_at=now_utc()))  # they book: they have signed in
        roles.append(dict(user_id=n, organisation_id=org.id, name=role))
    db.session.execute(insert(User), users)
    db.session.execute(insert(Role), roles)
    if db.session.get_bind().dialect.name == "postgresql":  # ids were given explicitly
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                                "(SELECT max(id) FROM users))"))


def seed(scale: str) -> None:
    organisations = seed_accounts()
    if scale in SCALE_USERS:
        seed_users(organisations, SCALE_USERS[scale])
