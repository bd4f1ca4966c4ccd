"""The audit viewer: admins and bureau staff read and export everything, lab managers their
organisation's events, others nothing."""
import re

import pytest

from booking.core import audit
from booking.extensions import db


def code(action: str) -> str:
    """How the page shows an event's recorded code (under its label)."""
    return f'audit-code">{action}</div>'


@pytest.fixture
def events(make):
    mine, theirs = make.organisation(name_zh="甲大学"), make.organisation(name_zh="乙大学")
    alice = make.user(organisation=mine, name="Alice", email="alice@a.cn")
    bob = make.user(organisation=theirs, name="Bob", email="bob@b.cn")
    audit.record("instrument.updated", actor=alice, obj=alice, before={"model": "A"},
                 after={"model": "B"})
    audit.record("user.deactivated", actor=bob, obj=bob, reason="left")
    audit.record("organisation.updated", actor=None, obj=mine, before={"city": "沈阳"},
                 after={"city": "大连"})
    db.session.commit()
    return mine, theirs


@pytest.mark.parametrize("role,status", [("member", 403), ("student", 403), ("finance", 403),
                                         ("bureau_staff", 200), ("admin", 200)])
def test_who_may_read(client, make, login, role, status):
    login(make.user(role=role))
    assert client.get("/admin/audit").status_code == status
    assert client.get("/admin/audit.csv").status_code == status


def test_bureau_searches_by_who_what_object_and_org(client, make, login, events):
    mine, _theirs = events
    login(make.user(role="bureau_staff"))
    page = client.get("/admin/audit?who=alice").get_data(as_text=True)
    assert code("instrument.updated") in page and code("user.deactivated") not in page
    assert '<span class="audit-key">型号</span>A</li>' in page  # the field by its form's label
    page = client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert code("user.deactivated") in page and code("instrument.updated") not in page
    page = client.get(f"/admin/audit?type=Organisation&object={mine.id}").get_data(as_text=True)
    assert '<option value="Organisation" selected>机构</option>' in page  # objects by name
    assert code("organisation.updated") in page and "大连" in page
    page = client.get(f"/admin/audit?org={mine.id}").get_data(as_text=True)
    assert code("instrument.updated") in page and code("user.deactivated") not in page
    # the wrong way round is read the right way (it was a 400 naming the parameter)
    def events_shown(query):
        page = client.get(f"/admin/audit?{query}").get_data(as_text=True)
        return re.findall(r'audit-code">([a-z_.]+)</div>', page)
    from datetime import timedelta

    from booking.core.clock import local_today
    after, before = local_today() + timedelta(days=1), local_today() - timedelta(days=5)
    shown = events_shown(f"from={after}&to={before}")
    assert shown and shown == events_shown(f"from={before}&to={after}")
    assert client.get("/admin/audit?from=2099-01-01").status_code == 200


def test_times_in_the_details_are_on_the_readers_clock(client, make, login):
    actor = make.user()
    audit.record("booking.requested", actor=actor, obj=actor, start="2026-12-07T05:30:00+00:00",
                 end="2026-12-07T06:30:00+00:00", samples=0, note="2026-12-07 is a Monday")
    db.session.commit()
    login(make.user(role="bureau_staff"))  # Asia/Shanghai
    page = client.get("/admin/audit?action=booking.").get_data(as_text=True)
    assert "2026-12-07 13:30" in page and "2026-12-07 14:30" in page
    assert "05:30:00+00:00" not in page and "2026-12-07 is a Monday" in page
    assert ">booking.*</option>" in page


def test_events_read_as_words_with_amounts_in_yuan(client, make, login):
    actor = make.user()
    audit.record("voucher.approved", actor=actor, obj=actor, face_value_fen=5_000_000,
                 quarter=2, policy_version=1)
    audit.record("user.roles_changed", actor=actor, obj=actor, before=["member"],
                 after=["lab_manager", "finance"])
    audit.record("lab.future_event", actor=actor, obj=actor, units=3)
    audit.record("booking.cancelled", actor=actor, obj=actor, before="approved",
                 reason="2026-02-30T10:00Z")  # typed text that only looks like a time
    audit.record("order.report_ready", actor=actor, obj=actor, before="testing")
    db.session.commit()
    login(make.user(role="bureau_staff", locale="en"))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Voucher approved" in page and code("voucher.approved") in page
    assert '<span class="audit-key">Face value</span>¥50,000.00</li>' in page
    assert "Account #" in page and "lab manager, finance" in page
    assert code("lab.future_event") in page  # an action without a label shows its code
    assert "Booking cancelled" in page and "2026-02-30T10:00Z" in page
    login(make.user(role="bureau_staff", locale="zh_CN"))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "创新券已批准" in page and '<span class="audit-key">面额</span>¥50,000.00</li>' in page
    assert "角色已变更" in page and "实验室管理员、财务" in page
    assert "预约已取消" in page and "<li>已批准</li>" in page  # the state it left, by name
    assert "<li>检测中</li>" in page  # an order's state too (its labels are msgids)


def test_ids_hours_and_modes_read_by_name(client, make, login):
    """Reported: "方式: self_operated", "机构: 18", "项目: 1" and a week of opening hours as
    raw JSON; the Before column squeezed to one character a line."""
    actor = make.user(name="王磊")
    org = make.organisation(name_zh="大连大学")
    audit.record("user.invited", actor=actor, obj=actor, organisation_id=org.id,
                 user_id=actor.id)
    audit.record("booking.requested", actor=actor, obj=actor, mode="self_operated",
                 organisation_id=999_999)  # gone: its number stays
    audit.record("opening_hours.set", actor=actor, obj=actor,
                 hours={"0": ["08:30-17:30"], "1": ["08:00-12:00", "13:30-18:00"]})
    db.session.commit()
    login(make.user(role="bureau_staff", locale="zh_CN"))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert '<span class="audit-key">机构</span>大连大学 (#' in page
    assert "王磊 (#" in page
    assert '<span class="audit-key">方式</span>自主操作</li>' in page
    assert "999999</li>" in page
    assert "周一 08:30–17:30；周二 08:00–12:00、13:30–18:00" in page
    assert '<th class="audit-before">' in page


def test_export_has_before_and_after(client, make, login, events):
    login(make.user(role="admin"))
    text = client.get("/admin/audit.csv?who=alice").data.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")  # the reader's language, the action by name too
    assert header[:5] == ["时间", "电子邮箱", "姓名", "操作", "操作代码"]
    assert '"{""model"": ""A""}"' in text and "alice@a.cn" in text
    assert client.get("/admin/audit.xlsx").status_code == 200


def test_manager_sees_own_organisations_events_only(client, make, login, events):
    mine, theirs = events
    login(make.user(role="lab_manager", organisation=mine))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert code("instrument.updated") in page and code("organisation.updated") in page
    assert code("user.deactivated") not in page
    assert code("user.deactivated") not in client.get(
        f"/admin/audit?org={theirs.id}").get_data(as_text=True)
    assert "bob@b.cn" not in client.get("/admin/audit.csv").data.decode("utf-8-sig")


def test_a_lab_reads_its_trail_without_ip_addresses_and_wildcards_are_letters(client, make,
                                                                             login, events):
    """Reported: a lab manager's export showed the platform admin's IP address; "_" in the
    search matched every actor."""
    mine, _theirs = events
    login(make.user(role="admin"))
    assert client.get("/admin/audit.csv").data.decode("utf-8-sig").splitlines()[0].endswith(
        ",IP")
    everyone = client.get("/admin/audit?who=_").get_data(as_text=True)
    assert "alice@a.cn" not in everyone  # nobody's address has a "_" in it here
    login(make.user(role="lab_manager", organisation=mine))
    header = client.get("/admin/audit.csv").data.decode("utf-8-sig").splitlines()[0]
    assert header.endswith(",详情") and "IP" not in header.split(",")


def test_recorded_fields_and_codes_read_by_name():
    """Reported: the trail showed capabilities、is_public, 类型 enterprise, 途径 reset."""
    from flask_babel import force_locale

    from booking.admin.audit_labels import described

    with force_locale("zh_CN"):
        text = dict(described({"changed": ["capabilities", "is_public"], "kind": "enterprise",
                               "via": "reset", "credit_code": "x", "active": False},
                              "Asia/Shanghai"))
    assert "is_public" not in text["变更字段"] and "capabilities" not in text["变更字段"]
    assert text["类型"] == "企业" and text["途径"] == "通过邮件重置密码"
    assert "统一社会信用代码" in text and text["启用"] == "否"
