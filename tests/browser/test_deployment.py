"""Issue 16's path from an empty database, as the README tells a deployment to go: the admin is
created on the command line, creates a university in the console and invites its manager; the
manager checks a real-looking asset spreadsheet (row-level problems first), imports it; the
instruments appear in the directory under their national class; the audit viewer shows who
imported them; the bureau downloads the annual report and this month's bulletin."""
import io
import re
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from booking import create_app
from booking.accounts.rules import make_credit_code
from config import TestingConfig
from tests.browser.conftest import _live_database_url
from tests.browser.helpers import follow, log_in, nav_to, shot

pytestmark = [pytest.mark.browser, pytest.mark.committing]

BUREAU_CODE = make_credit_code("11210200MB1600001")
UNIVERSITY_CODE = make_credit_code("12210000MB1600002")
PASSWORD = "first-admin-2026"


@pytest.fixture(scope="module")
def empty_site(database_url, tmp_path_factory):
    """A live server on a database that only `flask db upgrade` has touched."""
    class LiveConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database_url(database_url, tmp_path_factory,
                                                     "live_deploy")
        WTF_CSRF_ENABLED = True
        UPLOAD_DIR = str(tmp_path_factory.mktemp("deploy_uploads"))

    app = create_app(LiveConfig)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app, app.config["PUBLIC_BASE_URL"]
    server.shutdown()


def _cli(app, *args):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _asset_list() -> bytes:
    """What a university's asset office sends: a title row, a group header merged over two
    columns with the real headers below, headers merged over both rows, 原值 in 万元, full-width
    digits, Excel dates and 2021/3/5, trailing spaces, and two rows with problems."""
    book = Workbook()
    sheet = book.active
    sheet.append(["渤海理工大学大型仪器设备清单（截至2026年11月）"])
    sheet.merge_cells("A1:J1")
    sheet.append(["资产编号", "仪器名称", "型号", "生产厂家", "分类代码", "原值（万元）", "购置日期",
                  "服务方式", "联系方式", None])
    sheet.append([None, None, None, None, None, None, None, None, "联系电话", "联系邮箱"])
    for column in "ABCDEFGH":
        sheet.merge_cells(f"{column}2:{column}3")
    sheet.merge_cells("I2:J2")
    sheet.append(["ＢＨ２０２１００１", "场发射扫描电子显微镜 ", "SU8010", "日立", "0101", "２３５.５",
                  44260, "两者", "0411-84706666", "sem@bhtu.edu.cn"])
    sheet.append(["BH2019007", "液相色谱-质谱联用仪", "Q Exactive", "赛默飞", "0102", 186,
                  "2019/6/18", "送样", "0411-84706667", "ms@bhtu.edu.cn"])
    sheet.append(["BH2020011", "X射线衍射仪", "D8 Advance", "布鲁克", "质谱仪器X", 98.6,
                  "2020/13/1", "两者", "", ""])
    sheet.append(["BH2018003", "电子万能试验机", "5982", "英斯特朗", "0201", 62, "2018.9.3",
                  "自主上机", "0411-84706668", "not-an-email"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _accept_invitation(app, base, page, email):
    from booking.core.notifications import OutboxMessage
    from booking.extensions import db

    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.recipient == email).order_by(OutboxMessage.id.desc()))
    link = re.search(r"https?://\S+/reset-password/\S+", body).group(0)
    page.context.clear_cookies()
    page.goto(link)
    page.fill("#password", "manager-pass-2026")
    page.fill("#confirm", "manager-pass-2026")
    page.click("form button[type=submit]")


def test_a_deployment_from_an_empty_database(empty_site, page, tmp_path):
    app, base = empty_site
    _cli(app, "orgs", "create", "--kind", "bureau", "--name-zh", "大连市科学技术局",
         "--name-en", "Dalian Science and Technology Bureau", "--credit-code", BUREAU_CODE,
         "--city", "大连")
    _cli(app, "users", "create", "--email", "admin@kjj.dl.cn", "--password", PASSWORD,
         "--role", "admin", "--org", BUREAU_CODE, "--name", "平台管理员")

    # the admin creates the university and invites its lab manager
    log_in(page, base, "admin@kjj.dl.cn", PASSWORD)
    nav_to(page, "/admin/organisations")
    page.click("#new-organisation")
    page.select_option("#kind", "university")
    page.fill("#name_zh", "渤海理工大学")
    page.fill("#name_en", "Bohai University of Technology")
    page.fill("#credit_code", UNIVERSITY_CODE)
    page.fill("#city", "大连")
    page.fill("#short_code", "BHUT")
    shot(page, "deploy-1-new-university")
    follow(page, "#organisation-form [type=submit]")
    assert "渤海理工大学" in page.locator("#organisations").inner_text()
    page.click("a[href='/admin/users']")
    page.click("#invite-user")
    page.fill("#email", "zhang.lab@bhut.edu.cn")
    page.fill("#name", "张实验")
    page.select_option("#organisation", label="渤海理工大学")
    page.check("#role-lab_manager")
    follow(page, "#invite-form [type=submit]")
    assert "zhang.lab@bhut.edu.cn" in page.locator("#users").inner_text()
    _cli(app, "users", "create", "--email", "staff@kjj.dl.cn", "--password", PASSWORD,
         "--role", "bureau_staff", "--org", BUREAU_CODE, "--name", "科技局职员")

    # the manager sets a password from the invitation and checks the asset list
    _accept_invitation(app, base, page, "zhang.lab@bhut.edu.cn")
    log_in(page, base, "zhang.lab@bhut.edu.cn", "manager-pass-2026")
    nav_to(page, "/lab")
    page.click("#import-link")
    path = tmp_path / "渤海理工大学仪器清单.xlsx"
    path.write_bytes(_asset_list())
    page.set_input_files("#file", str(path))
    follow(page, "#import-check")
    problems = page.locator("#import-problems").inner_text()
    assert re.search(r"6\s+分类代码", problems) and re.search(r"6\s+购置日期", problems)
    assert re.search(r"7\s+联系邮箱", problems)
    shot(page, "deploy-2-dry-run")
    page.set_input_files("#file", str(path))
    page.check("#skip_invalid")
    page.click("#import-submit")
    # the dry run's own #import-result (a warning) stands until the answer replaces the page
    page.locator("#import-result.alert-success").wait_for()
    shot(page, "deploy-3-imported")

    # the directory lists them with their national class; the class filter finds them
    page.goto(base + "/instruments?class=01")
    listing = page.locator("main").inner_text()
    assert "场发射扫描电子显微镜" in listing and "液相色谱-质谱联用仪" in listing
    assert "电子光学仪器" in listing
    shot(page, "deploy-4-directory")

    # the audit viewer shows who imported them
    log_in(page, base, "admin@kjj.dl.cn", PASSWORD)
    nav_to(page, "/admin/organisations")
    page.click("a.nav-link[href='/admin/audit']")
    page.goto(base + "/admin/audit?action=instruments.imported")
    trail = page.locator("#audit-events").inner_text()
    assert "zhang.lab@bhut.edu.cn" in trail and "instruments.imported" in trail
    shot(page, "deploy-5-audit")

    # the bureau downloads the annual report and this month's bulletin
    log_in(page, base, "staff@kjj.dl.cn", PASSWORD)
    nav_to(page, "/reports/")
    with page.expect_download() as report:
        page.click("#nrii-xlsx")
    assert report.value.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    with open(report.value.path(), "rb") as file:
        rows = list(load_workbook(io.BytesIO(file.read())).active.iter_rows(values_only=True))
    assert rows[0][0] == "资产编号" and {r[0] for r in rows[1:]} == {"BH2021001", "BH2019007"}
    # the form proposes last month, a whole one; the new instruments are this month's
    page.fill("#bulletin-period", datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m"))
    page.click("#bulletin-open")
    page.wait_for_selector("#bulletin-under-way")
    assert "渤海理工大学" in page.locator("#bulletin").inner_text()
    shot(page, "deploy-6-bulletin")
    with page.expect_download() as bulletin:
        page.click("#bulletin-pdf")
    with open(bulletin.value.path(), "rb") as file:
        assert file.read(5) == b"%PDF-"
