"""What the dashboard needs for a convincing demonstration, on top of the registry and the
demo dossiers: the steering committee, its tasks (some late), targets with green, amber and
red lights and their flips, and two assessment rounds of the communes (last year's
published, this year's with units at every stage of the workflow).

``seed_demo`` is deterministic (one seeded random generator, units in code order, dates
relative to ``today``) and idempotent: running it again changes nothing that is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import csv
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from chiso import db
from chiso.auth.permissions import command_line

if TYPE_CHECKING:
    from chiso.dossiers.store import DossierStore

ACTOR = "demo"
SEED = 7
#: A minimal PDF: the evidence rules want a PDF to start with %PDF-.
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

MEMBERS = (
    ("bt", "Nguyễn Văn Bình", "Trưởng ban, Bí thư Tỉnh ủy"),
    ("ct", "Trần Thị Châu", "Phó Trưởng ban, Chủ tịch UBND tỉnh"),
    ("snv", "Lê Minh Đức", "Ủy viên, Giám đốc Sở Nội vụ"),
    ("skh", "Phạm Thu Hà", "Ủy viên, Giám đốc Sở Khoa học và Công nghệ"),
    ("vp", "Hoàng Quốc Khánh", "Ủy viên, Chánh Văn phòng UBND tỉnh"),
)

#: (title, product, authority) of the work programme; each is given to a unit below.
WORK = (
    ("Số hóa hồ sơ, kết quả giải quyết thủ tục hành chính còn hiệu lực", "Kho dữ liệu số hóa đạt 100%",
     "Chủ tịch UBND tỉnh"),
    ("Lắp đặt điểm cầu hội nghị trực tuyến cấp xã", "124 điểm cầu hoạt động", "Giám đốc Sở Khoa học và Công nghệ"),
    ("Cung cấp Wi-Fi miễn phí tại Trung tâm phục vụ hành chính công", "Wi-Fi tại mọi trung tâm", "Chủ tịch UBND xã"),
    ("Rà soát, đơn giản hóa thủ tục hành chính nội bộ", "Quyết định phê duyệt phương án", "Chủ tịch UBND tỉnh"),
    ("Kết nối hệ thống giải quyết TTHC với Cơ sở dữ liệu quốc gia về dân cư", "Kết nối vận hành ổn định",
     "Giám đốc Sở Khoa học và Công nghệ"),
    ("Tuyển dụng công chức công nghệ thông tin cho xã", "Mỗi xã có ít nhất 01 công chức CNTT", "Giám đốc Sở Nội vụ"),
    ("Triển khai nền tảng Bình dân học vụ số", "80% cán bộ hoàn thành khóa học", "Chủ tịch UBND xã"),
    ("Xây dựng Trung tâm dữ liệu dùng chung của tỉnh", "Đề án được phê duyệt", "Chủ tịch UBND tỉnh"),
    ("Công khai tiến độ giải quyết hồ sơ trên Cổng dịch vụ công", "100% hồ sơ được công khai", "Chủ tịch UBND xã"),
    ("Nâng tỷ lệ thanh toán trực tuyến phí, lệ phí", "Tỷ lệ ≥ 60%", "Chủ tịch UBND xã"),
    ("Ban hành Quy chế làm việc của Ban Chỉ đạo", "Quy chế được ký ban hành", "Trưởng Ban Chỉ đạo"),
    ("Xây dựng ứng dụng một ứng dụng dùng chung của tỉnh", "Ứng dụng phát hành", "Chủ tịch UBND tỉnh"),
)


def _pdf(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(_PDF)
    return path


def seed_demo(engine: Engine, province_code: str, *, today: date | None = None, store: DossierStore | None = None,
              communes_in_round: int = 40) -> dict:
    """Create the demonstration's committee, tasks, targets and rounds (see the module
    docstring); returns counts of what it added."""
    from chiso.assessments import service as rounds
    from chiso.assessments.models import AssessmentRound
    from chiso.store.service import open_records
    from chiso.targets import service as targets
    from chiso.tasks import service as tasks
    from chiso.units import service as units

    demo = command_line(ACTOR)  # the rounds' log and the entered values name the demonstration

    today = today or date.today()
    store = store or open_records(engine)
    rng = random.Random(SEED)
    out = {"members": 0, "tasks": 0, "targets": 0, "rounds": 0, "flips": 0}
    with db.transaction(engine) as session:
        province = units.normalise_province_code(province_code)
        communes = units.list_units(session, level="commune", within=province, as_of=today)
        agencies = [u.code for u in units.group_members(session, "agencies_with_procedures", as_of=today)]
        wards = {u.code for u in units.group_members(session, "wards", as_of=today)}
        codes = [c.code for c in communes]
        names = {c.code: c.name for c in communes}
        # ---------------------------------------------------------------- committee
        for i, (code, name, role) in enumerate(MEMBERS):
            in_charge = codes[i::len(MEMBERS)][:6]
            tasks.add_member(session, actor=command_line(), code=code, name=name, role=role, unit_codes=in_charge)
            out["members"] += 1
    # ---------------------------------------------------------------- tasks
    with tempfile.TemporaryDirectory(prefix="chiso-demo-") as tmp:
        folder = Path(tmp)
        rows = []
        owners = [u for u in agencies[:6]] + codes[:18]
        for i, owner_unit in enumerate(owners):
            title, product, authority = WORK[i % len(WORK)]
            member = MEMBERS[i % len(MEMBERS)]
            offset = (-60, -25, -9, -3, 2, 6, 12, 30, 45, 75)[i % 10]
            deadline = today + timedelta(days=offset)
            # Past deadlines: most done (some late), some still open, so overdue.
            if offset < 0:
                status = ("done", "done", "in_progress", "not_started")[i % 4]
            else:
                status = ("in_progress", "not_started", "done")[i % 3]
            completed = None
            if status == "done":
                completed = deadline + timedelta(days=(-4, 3)[i % 2]) if offset < 0 else today - timedelta(days=1)
                completed = min(completed, today)
            rows.append({
                "id": f"KH-{i + 1:02d}", "title": title, "owner": member[1] if i < 6 else f"Chủ tịch UBND {names.get(owner_unit, owner_unit)}",
                "unit": owner_unit, "deadline": deadline.isoformat(), "product": product, "authority": authority,
                "source": "Chương trình công tác năm 2026 của Ban Chỉ đạo", "member_in_charge": member[0],
                "status": status, "completed_at": completed.isoformat() if completed else "",
                "description": title + ".",
            })
        path = folder / "tasks.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with db.transaction(engine) as session:
            summary = tasks.import_tasks(session, actor=command_line(), path=path, write_rejects=False)
            out["tasks"] = summary.inserted
            if summary.inserted:  # progress history, only the first time
                for i, row in enumerate(rows):
                    if row["status"] == "not_started":
                        continue
                    start = date.fromisoformat(row["deadline"]) - timedelta(days=40)
                    for step, pct in enumerate((20, 45, 70)[: 1 + i % 3]):
                        on = min(today, start + timedelta(days=10 * step))
                        evidence = _pdf(folder, f"bao-cao-{row['id']}-{step + 1}.pdf") if step == 1 else None
                        tasks.update_progress(session, actor=command_line(row["member_in_charge"]), code=row["id"],
                                              percent=pct, on=on, note=f"Đã hoàn thành {pct}% khối lượng",
                                              evidence=evidence)
        # ---------------------------------------------------------------- targets
        year_end = date(today.year, 12, 31)
        quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        specs: list[dict[str, Any]] = [
            {"code": "CT-766-XA", "name": "Điểm Bộ chỉ số 766 của xã đạt từ 80 điểm", "indicator": "766.total",
             "level": "commune", "direction": "higher", "goal": 80, "deadline": year_end, "period": quarter,
             "amber": {"amber_within": 0.1}, "source": "Kế hoạch CCHC năm 2026"},
            {"code": "CT-DUNGHAN", "name": "Tỷ lệ hồ sơ giải quyết đúng hạn từ 85%", "indicator": "766.2.1",
             "level": "commune", "direction": "higher", "goal": 0.85, "deadline": year_end, "period": quarter,
             "amber": {"amber_within": 0.04}, "source": "Nghị quyết 57-NQ/TW"},
            {"code": "CT-DUNGHAN-Q", "name": "Hồ sơ đúng hạn từ 80% trước kỳ giao ban tháng", "indicator": "766.2.1",
             "level": "commune", "direction": "higher", "goal": 0.8, "deadline": today - timedelta(days=3),
             "period": quarter, "amber": {"amber_within": 0.05}, "source": "Kết luận giao ban tháng 10"},
            {"code": "CT-KYSO", "name": "Tỷ lệ văn bản ký số từ 90%", "indicator": "digital_signature_pct",
             "level": "commune", "direction": "higher", "goal": 90, "deadline": today + timedelta(days=20),
             "amber": {"amber_within": 0.1}, "source": "Quyết định 204-QĐ/TW"},
        ]
        with db.transaction(engine) as session:
            for spec in specs:
                _t, what = targets.save_target(session, actor=command_line(), **spec)
                out["targets"] += what == "inserted"
            have = {(v["indicator"], v["unit"]) for v in targets.list_values(session, indicator="digital_signature_pct")}
            for i, code in enumerate(codes):
                if ("digital_signature_pct", code) in have:
                    continue
                value = round(60 + 40 * rng.random(), 1) if i % 9 else None
                if value is not None:
                    targets.set_value(session, actor=demo, indicator="digital_signature_pct", unit=code,
                                      period=quarter, value=value)
        # Colours as they were last week and today, so that "turned red this week" has rows.
        for day in (today - timedelta(days=8), today):
            with db.transaction(engine) as session:
                out["flips"] += len(targets.evaluate(session, as_of=day, store=store)["flips"])
        # ---------------------------------------------------------------- rounds
        picked = codes[:communes_in_round]
        with db.transaction(engine) as session:
            exists = {r.code for r in session.scalars(select(AssessmentRound))}
        for year in (today.year - 1, today.year):
            code = f"xa-{year}"
            if code in exists:
                continue
            out["rounds"] += 1
            with db.transaction(engine) as session:
                rounds.create_round(session, code=code, method="template-commune", year=year, actor=demo,
                                    name=f"Chỉ số CCHC cấp xã năm {year}")
                rounds.add_units(session, round_code=code, actor=demo,
                                 units_groups=[(c, "wards" if c in wards else "communes") for c in picked])
            for i, unit in enumerate(picked):
                stage = "published" if year < today.year else (
                    "self_assessed", "evidence", "submitted", "appraised", "approved")[i % 5]
                values = {
                    "steering.plan": rng.random() > 0.2,
                    "steering.inspections": rng.randint(0, 4),
                    "one_stop.digitised": round(0.4 + 0.6 * rng.random(), 3),
                    "digital.accounts": round(0.5 + 0.5 * rng.random(), 3),
                    "satisfaction.survey": round(0.6 + 0.4 * rng.random(), 3),
                    "digital.appraised": rng.randint(6, 15),
                }
                inputs = {"index_766": round(60 + 35 * rng.random(), 2)}
                with db.transaction(engine) as session:
                    rounds.self_assess(session, round_code=code, unit_code=unit, values=values, actor=demo,
                                       notes={"steering.plan": "Kế hoạch số 12/KH-UBND"}, inputs=inputs)
                    if stage == "self_assessed":
                        continue
                    rounds.attach_evidence(session, round_code=code, unit_code=unit, node_id="steering.plan",
                                           path=_pdf(folder, "ke-hoach.pdf"), actor=demo, name="Kế hoạch 12-KH.pdf")
                    if stage == "evidence":
                        continue
                    rounds.submit(session, round_code=code, unit_code=unit, actor=demo)
                    if stage == "submitted":
                        continue
                    appraised = {"digital.appraised": max(0, values["digital.appraised"] - rng.randint(0, 4)),
                                 "steering.inspections": min(values["steering.inspections"], rng.randint(1, 3))}
                    rounds.appraise(session, round_code=code, unit_code=unit, values=appraised, actor=demo,
                                    comments={"digital.appraised": "Hồ sơ minh chứng chưa đầy đủ, trừ điểm"})
                    if stage == "appraised":
                        continue
                    rounds.approve(session, round_code=code, unit_code=unit, actor=demo)
            if year < today.year:
                with db.transaction(engine) as session:
                    rounds.publish(session, round_code=code, actor=demo)
    return out
