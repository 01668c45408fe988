"""The input templates in data/templates/ (CSV and .xlsx for each format; the National Public
Service Portal's Decision 766 table as JSON and as its Excel copy), generated here so they
always match the loader: ``python -m etl.load.templates`` rewrites them, and a test checks
that every template loads cleanly (dry run)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core import catalog, paths
from etl import reference

FOLDER = paths.DATA / "templates"
PERIOD = "2025-09"

TEMPLATES: dict[str, dict] = {
    "report_long": {
        "title": "BÁO CÁO SỐ LIỆU CHUYỂN ĐỔI SỐ – dạng dọc (một dòng một giá trị)",
        "header": ["period", "unit", "province", "indicator", "value", "numerator", "denominator", "source", "note"],
        "rows": [
            [PERIOD, "Huế", "", "bts_stations", "1.234", "", "", "Sở KH&CN Huế", ""],
            [PERIOD, "Huế", "", "online_application_rate", "88,01", "8801", "10000", "Sở KH&CN Huế", ""],
            [PERIOD, "Phường Thuận An", "Huế", "applications_received", "1.520", "", "", "UBND phường", ""],
            [PERIOD, "Tân Hòa", "Tây Ninh", "dx_criteria_met", "15", "", "", "", "xã có tên trùng: ghi tỉnh"],
            [PERIOD, "00070", "", "on_time_rate", "97,5", "390", "400", "", "mã xã 5 chữ số"],
        ],
        "notes": [
            "period: tháng YYYY-MM (hoặc 09/2025, Tháng 9/2025). Không nhận tháng trong tương lai.",
            "unit: tỉnh hoặc xã/phường, ghi mã GSO (2 hoặc 5 chữ số) hoặc tên "
            "(có/không dấu, có/không 'Tỉnh', 'Xã', 'Phường').",
            "province: tỉnh của xã (bắt buộc khi tên xã trùng ở nhiều tỉnh; hoặc dùng --province).",
            "indicator: mã chỉ tiêu trong data/meta/indicators.toml.",
            "value: số; dấu phẩy thập phân (88,01) và dấu chấm nghìn (1.234) được chấp nhận.",
            "numerator/denominator: với tỷ lệ, tử số và mẫu số "
            "(khi có, giá trị phải bằng 100 × tử / mẫu; hai số đếm cũng được nạp).",
        ],
    },
    "report_wide": {
        "title": "BÁO CÁO SỐ LIỆU CHUYỂN ĐỔI SỐ – dạng ngang (một dòng một đơn vị)",
        "header": ["STT", "unit", "period", "bts_stations", "stations_5g", "edocs_received", "edocs_sent",
                   "delayed_tasks", "online_application_rate"],
        "rows": [
            [1, "Hà Nội", PERIOD, "12.450", "1.020", "85.300", "80.120", "3", "92,4"],
            [2, "Huế", PERIOD, "2.310", "160", "21.400", "20.950", "0", "88,01"],
            [3, "Cần Thơ", PERIOD, "4.870", "410", "", "", "1", "90"],
        ],
        "notes": [
            "Một cột cho mỗi mã chỉ tiêu (hoặc tên tiếng Việt của chỉ tiêu). Ô trống = không có số liệu.",
            "Kỳ báo cáo: cột period, hoặc bỏ cột và dùng --period YYYY-MM.",
            "Có thể có dòng tiêu đề phía trên và ô tiêu đề gộp (merge); cột STT được bỏ qua.",
        ],
    },
    "legacy_report": {
        "title": "BÁO CÁO THEO 63 TỈNH CŨ – nạp với --kind legacy (tự quy đổi sang 34 tỉnh)",
        "header": ["period", "unit", "indicator", "value", "numerator", "denominator"],
        "rows": [
            [PERIOD, "Phú Thọ", "bts_stations", "3.100", "", ""],
            [PERIOD, "Vĩnh Phúc", "bts_stations", "2.900", "", ""],
            [PERIOD, "Hòa Bình", "bts_stations", "2.050", "", ""],
            [PERIOD, "Phú Thọ", "online_application_rate", "85", "8500", "10000"],
            [PERIOD, "Vĩnh Phúc", "online_application_rate", "90", "9000", "10000"],
            [PERIOD, "Hòa Bình", "online_application_rate", "80", "4000", "5000"],
            [PERIOD, "Thừa Thiên Huế", "online_application_rate", "88,01", "", ""],
        ],
        "notes": [
            "unit: tên hoặc mã của 63 tỉnh cũ (trước 2025).",
            "Số đếm được cộng; tỷ lệ được tính lại = 100 × tổng tử số / tổng mẫu số (không lấy trung bình).",
            "Tỷ lệ không có tử số/mẫu số chỉ nhận được khi tỉnh cũ giữ nguyên thành tỉnh mới "
            "(vd. Thừa Thiên Huế → Huế).",
            "Phải có đủ mọi tỉnh cũ hợp thành một tỉnh mới (vd. Phú Thọ = Phú Thọ + Vĩnh Phúc + Hòa Bình).",
        ],
    },
    "dossiers": {
        "title": None,  # exports have the header on the first line
        "header": ["dossier_id", "procedure_code", "commune", "province", "channel", "received_at", "due_at",
                   "resolved_at", "paid_online"],
        "rows": [
            ["000.00.01.H46-250901-0001", "1.001234", "19900", "", "online", "2025-09-01 08:15:00",
             "2025-09-08 17:00:00", "2025-09-05 10:20:00", "true"],
            ["000.00.01.H46-250901-0002", "1.001234", "Phường Thuận An", "Huế", "in person", "2025-09-01 09:00:00",
             "2025-09-03 17:00:00", "2025-09-04 08:00:00", "false"],
            ["000.00.01.H46-250902-0003", "2.000567", "Tân Hòa", "Tây Ninh", "postal", "02/09/2025 14:00",
             "12/09/2025 17:00", "", "false"],
        ],
        "notes": [
            "Một dòng một hồ sơ. commune: mã hoặc tên xã tiếp nhận (province khi tên trùng).",
            "channel: online / in person / postal (hoặc trực tuyến / trực tiếp / bưu chính).",
            "Thời gian: YYYY-MM-DD HH:MM:SS hoặc DD/MM/YYYY HH:MM. resolved_at trống = chưa giải quyết.",
            "Mã hồ sơ trùng chỉ được đếm một lần và được báo trong báo cáo.",
        ],
    },
}


# The portal's Decision 766 table (--kind index766): example values (made up, seeded), in the
# shape the portal answers a ranking request with. The options each file loads with:
PORTAL = {
    # the 34 provinces in a month of the six-group method, as JSON and as a saved Excel copy
    "index766_portal": {"period": "2025-11"},
    # Phú Thọ's own table in a month of the five-group method: its departments, then its communes
    "index766_communes_phu_tho": {"period": "2025-09", "province": "Phú Thọ"},
}
PORTAL_FILES = (("index766_portal", "json"), ("index766_portal", "xlsx"), ("index766_communes_phu_tho", "json"))
DEPARTMENTS = ["Văn phòng UBND tỉnh", "Sở Nội vụ", "Sở Tư pháp", "Sở Tài chính", "Sở Công Thương", "Sở Xây dựng",
               "Sở Nông nghiệp và Môi trường", "Sở Giáo dục và Đào tạo", "Sở Y tế", "Sở Khoa học và Công nghệ",
               "Sở Văn hóa, Thể thao và Du lịch", "Sở Dân tộc và Tôn giáo", "Thanh tra tỉnh",
               "Ban Quản lý các khu công nghiệp tỉnh", "Công an tỉnh Phú Thọ", "Bảo hiểm xã hội tỉnh Phú Thọ",
               "Thuế tỉnh Phú Thọ"]
FIELD_ORDER = ("CKMB", "TDGQ", "TTTT", "CLGQ", "MDHL", "MDSH")  # as the portal lists its fields
TITLE_766 = "BỘ CHỈ SỐ CHỈ ĐẠO, ĐIỀU HÀNH VÀ ĐÁNH GIÁ CHẤT LƯỢNG PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP"


def portal_records(names: list[str], period: str, seed: int) -> list[dict]:
    """One record per unit as the portal gives it: scores as text, ranked by total (ROW_STT)."""
    method, rng = catalog.index766_method(period), random.Random(seed)
    records = []
    for name in names:
        groups = {g.field: round(g.max * rng.uniform(0.62, 0.99), 2) for g in method.groups}
        records.append({"ID": str(rng.randint(10_000, 99_999)), "TEN": name,
                        "TONG_SCORE": round(sum(groups.values()), 2), **groups})
    records.sort(key=lambda r: -r["TONG_SCORE"])
    return [{"ID": r["ID"], "TEN": r["TEN"], "ROW_STT": rank, "TONG_SCORE": f"{r['TONG_SCORE']:.2f}",
             **{k: f"{r[k]:.2f}" for k in FIELD_ORDER if k in r}}
            for rank, r in enumerate(records, start=1)]


def _portal_tables() -> dict[str, list[dict]]:
    provinces, communes = reference.provinces(), reference.communes()
    phu_tho = provinces.loc[provinces.name == PORTAL["index766_communes_phu_tho"]["province"], "code"].iloc[0]
    return {
        "index766_portal": portal_records(provinces.full_name.tolist(), PORTAL["index766_portal"]["period"], 766),
        "index766_communes_phu_tho": portal_records(
            DEPARTMENTS + communes.loc[communes.province_code == phu_tho, "name"].tolist(),
            PORTAL["index766_communes_phu_tho"]["period"], 25),
    }


def _portal_xlsx(records: list[dict], period: str, path: Path) -> None:
    """The table as staff save it from the portal's page: title rows, Vietnamese headings (the
    group's name and its maximum), one row per unit."""
    method = catalog.index766_method(period)
    header = ["STT", "Tên đơn vị"] + [
        f"{catalog.get(g.indicator).name_vi.split('–', 1)[1].strip()} ({g.max:g} điểm)" for g in method.groups
    ] + ["Tổng điểm"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Xếp hạng"
    ws.append([TITLE_766])
    ws.append([f"Cấp tỉnh, thành phố · Tháng {int(period[5:])}/{period[:4]} · dữ liệu mẫu"])
    ws.append([])
    for row in (1, 2):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(header))
        ws.cell(row, 1).font = Font(bold=True, size=13 if row == 1 else 11)
        ws.cell(row, 1).alignment = Alignment(horizontal="center")
    ws.append(header)
    for cell in ws[4]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for r in records:
        ws.append([r["ROW_STT"], r["TEN"]] + [float(r[g.field]) for g in method.groups] + [float(r["TONG_SCORE"])])
    ws.column_dimensions["B"].width = 30
    for i in range(3, len(header) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14
    ws.freeze_panes = "C5"
    wb.save(path)


def write_portal_templates(folder: Path = FOLDER) -> list[Path]:
    written = []
    for name, records in _portal_tables().items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
        if (name, "xlsx") in PORTAL_FILES:
            _portal_xlsx(records, PORTAL[name]["period"], folder / f"{name}.xlsx")
            written.append(folder / f"{name}.xlsx")
    return written


def write_templates(folder: Path = FOLDER) -> list[Path]:
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in TEMPLATES.items():
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as out:  # BOM: Excel opens it as UTF-8
            writer = csv.writer(out)
            writer.writerow(spec["header"])
            writer.writerows(spec["rows"])
        written.append(path)

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Data"
        if spec["title"]:
            ws.append([spec["title"]])
            ws["A1"].font = Font(bold=True, size=13)
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(spec["header"]))
            ws.append([])
        ws.append(spec["header"])
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        for row in spec["rows"]:
            ws.append(row)
        for i, label in enumerate(spec["header"], start=1):
            longest = max([len(str(label))] + [len(str(r[i - 1])) for r in spec["rows"]])
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, longest + 2))
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        notes = wb.create_sheet("Hướng dẫn")
        notes.append(["Hướng dẫn / Instructions"])
        notes["A1"].font = Font(bold=True)
        for line in spec["notes"]:
            notes.append([line])
        notes.append([])
        notes.append(["Kiểm tra trước khi nạp: python -m etl load FILE --dry-run"])
        notes.column_dimensions["A"].width = 110
        xlsx = folder / f"{name}.xlsx"
        wb.save(xlsx)
        written.append(xlsx)
    return written + write_portal_templates(folder)


if __name__ == "__main__":  # pragma: no cover
    for path in write_templates(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER):
        print(path)
