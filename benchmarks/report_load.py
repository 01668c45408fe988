"""Report load benchmark: a 34-province × 36-month Excel report, checked and loaded.

Target (the issue): ≤ 5 s for the Excel file. Measured in the same run, on a private copy
of the warehouse (the published one is never touched):

- ``xlsx``     plan_load + apply_load of the long-form workbook (title rows, text numbers
               with Vietnamese separators, as staff send them), in-process;
- ``csv``      the same table as CSV (baseline: what reading Excel costs on top);
- ``wide``     the same figures as a wide workbook (one column per indicator);
- ``cli``      ``python -m etl load FILE.xlsx`` end to end in a fresh process (imports included).

Each line splits the time into checking (read + validate + compare with the warehouse) and
writing (copy, insert, publish, fsync, atomic replace).

    python -m benchmarks.report_load [--months 36] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 5.0


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_load")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args(argv)

    from core import paths
    from etl import build, reference
    from etl.load import apply_load, plan_load, samples

    work = Path(tempfile.mkdtemp(prefix="dx-bench-report-"))
    try:
        source = paths.warehouse_path()
        base = work / "base.duckdb"
        if source.exists():
            shutil.copyfile(source, base)
        else:
            print(f"no warehouse at {source}; building one for the benchmark …")
            build.build(base, verbose=False)
        os.environ["DX_RAW"] = str(work / "raw")

        long = samples.province_report(args.months)
        long["value"] = [f"{v:,}".replace(",", ".") for v in long.value]  # "12.345" as typed
        xlsx = samples.write(long, work / "report.xlsx", title="BÁO CÁO SỐ LIỆU CHUYỂN ĐỔI SỐ")
        csv = samples.write(long, work / "report.csv")
        wide = samples.write(samples.wide_province_report(args.months), work / "report_wide.xlsx")
        n = len(long)
        reference.resolver()  # built once per process (the app and the CLI do the same)

        def run(path: Path):
            db = work / f"{path.stem}.duckdb"
            shutil.copyfile(base, db)
            t_plan, plan = _timed(lambda: plan_load(path, db=db))
            t_apply, result = _timed(lambda: apply_load(plan, db=db))
            assert result.status == "loaded", result.summary
            return t_plan + t_apply, t_plan, t_apply, result

        t_xlsx, p_xlsx, a_xlsx, result = run(xlsx)
        t_csv, p_csv, a_csv, _ = run(csv)
        t_wide, p_wide, a_wide, _ = run(wide)

        db = work / "cli.duckdb"
        shutil.copyfile(base, db)
        env = dict(os.environ, DX_DB=str(db))
        t_cli, done = _timed(lambda: subprocess.run([sys.executable, "-m", "etl", "load", str(xlsx), "--no-progress"],
                                                    cwd=ROOT, env=env, capture_output=True, text=True))
        assert done.returncode == 0, done.stdout + done.stderr

        print(f"34 provinces × {args.months} months × {long.indicator.nunique()} indicators = {n:,} values")
        print(f"  xlsx  long, title rows    {t_xlsx:6.2f} s  (check {p_xlsx:.2f} + write {a_xlsx:.2f})  "
              f"target ≤ {TARGET_S:.0f} s: {'OK' if t_xlsx <= TARGET_S else 'MISSED'}")
        print(f"  csv   same table          {t_csv:6.2f} s  (check {p_csv:.2f} + write {a_csv:.2f})  "
              f"xlsx/csv = {t_xlsx / t_csv:.2f}")
        print(f"  xlsx  wide                {t_wide:6.2f} s  (check {p_wide:.2f} + write {a_wide:.2f})")
        print(f"  cli   python -m etl load  {t_cli:6.2f} s  (fresh process, imports included)")
        print(f"  values changed: {result.summary.get('values_changed')}, "
              f"demo values replaced: {result.summary.get('demo_values_replaced')}")
        return 0 if t_xlsx <= TARGET_S else 1
    finally:
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
