"""Deterministic demo data that agrees with every press fact.

Why demo data at all: the dashboard must be usable before provinces send real reports.
Every value it produces is marked ``is_demo`` in the warehouse and labelled in the UI, and
any real report for the same (indicator, period, unit) supersedes it.

How it is made (fixed seed, so every build gives the same numbers):
- 2024-01 .. 2025-06: generated for the **63 old provinces** and re-based onto the 34 with
  :func:`etl.rebase.rebase_legacy` — the code that re-bases real legacy files.
- 2025-07 .. 2026-10: dossier counts are generated per **commune** and summed to provinces
  (so a province's rate is exactly the sum of commune numerators over the sum of commune
  denominators); the other province indicators are generated per current province.
- A few press facts are anchors (``ANCHORS``): the generator pins those values and arranges
  the other provinces around them (e.g. Phú Thọ 88.01 %, 9th of 34 in 2025-09).
  Point-in-time facts (Huế, morning of 2025-07-01) stay press facts; the monthly values are
  checked not to contradict them (tests/test_press_facts.py checks every fact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import catalog
from etl.rebase import rebase_legacy
from etl.reference import communes, legacy_provinces, provinces

SEED = 57
FIRST_MONTH = "2024-01"
MERGER_MONTH = "2025-07"  # two-tier local government starts 2025-07-01
LAST_MONTH = "2026-10"
SOURCE_ID = "demo"

PHU_THO, HA_NOI, HUE = "25", "01", "46"

# Values pinned to press facts (fact ids in data/meta/press_facts.csv).
ANCHORS = {
    # F01a/F01b: 88.01 %, rank 9 of 34; one month earlier rank 11 (so "up 2 places").
    "phu_tho_online_rate": {"2025-07": 80.52, "2025-08": 84.93, "2025-09": 88.01},
    "phu_tho_rank": {"2025-08": 11, "2025-09": 9},
    # F09/F10: below 1 % in 2025-07, 23.45 % the month after, above 25 % by 2025-09, 99 % in 2025-11.
    "ha_noi_online_rate": {"2025-07": 0.87, "2025-08": 23.45, "2025-09": 48.62, "2025-10": 81.17, "2025-11": 99.0},
    # F02: procedures on the settlement system in 2025-09 (total = full + partial).
    "phu_tho_procedures": {"procedures_full_online": 969, "procedures_partial_online": 1184},
    "hue_procedures_2025_07": 2307,  # F20a
    "phu_tho_bts_2025_09": 10214,  # F03a: more than 10,200
    "phu_tho_5g_2025_09": 170,  # F03b
    "phu_tho_smartphone_2025_09": 89.0,  # F03d
    "phu_tho_eid_2025_09": 2_514_800,  # F06: more than 2,500,000
    # F05: e-documents since the merger (2025-07 .. 2025-09).
    "phu_tho_edocs_since_merger": {"edocs_received": 161_562, "edocs_sent": 99_986},
    "ha_noi_delayed_tasks_2025_11": 30,  # F13a
    "ha_noi_disbursement_2024_max": 42.0,  # F14: below 42 % of plan
}
FACT_PERIOD = "2025-09"


def month_range(first: str, last: str) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(first, last, freq="M")]


@dataclass
class DemoData:
    """Rows for clean.observation_history (province and commune) and the legacy inputs."""

    observations: pd.DataFrame  # indicator, period, level, unit_code, value, numerator, denominator
    legacy: pd.DataFrame  # indicator, period, legacy_code, value, numerator, denominator
    not_rebased: pd.DataFrame  # legacy rows the re-basing rules refused (indices of merged provinces)


def _rows(indicator: str, period: str, codes, values, numerators=None, denominators=None) -> pd.DataFrame:
    n = len(codes)
    return pd.DataFrame(
        {
            "indicator": indicator,
            "period": period,
            "unit_code": list(codes),
            "value": np.asarray(values, dtype=float),
            "numerator": np.full(n, np.nan) if numerators is None else np.asarray(numerators, dtype=float),
            "denominator": np.full(n, np.nan) if denominators is None else np.asarray(denominators, dtype=float),
        }
    )


def _rate_rows(rate_code: str, period: str, codes, numerators, denominators) -> list[pd.DataFrame]:
    """Count rows for numerator and denominator plus the rate recomputed from them."""
    rate = catalog.get(rate_code)
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, 100.0 * num / den, np.nan)
    return [
        _rows(rate.numerator, period, codes, num),
        _rows(rate.denominator, period, codes, den),
        _rows(rate_code, period, codes, value, num, den),
    ]


class _Generator:
    def __init__(self) -> None:
        self.rng = np.random.default_rng(SEED)
        self.legacy = legacy_provinces()
        self.provinces = provinces()
        self.communes = communes()
        # Size measure: communes before the reform (old provinces) and their sums (new ones).
        self.legacy_size = self.legacy.set_index("code").n_communes.astype(float)
        self.size = self.legacy.groupby("province_code").n_communes.sum().astype(float)
        self.pre_months = month_range(FIRST_MONTH, "2025-06")
        self.post_months = month_range(MERGER_MONTH, LAST_MONTH)
        self.all_months = self.pre_months + self.post_months
        self.month_index = {m: i for i, m in enumerate(self.all_months)}
        self.index_quality: dict = {}  # last index766 call's group qualities by unit code

    # ---- shared shapes -------------------------------------------------------------
    def season(self, period: str) -> float:
        """Dossier volume by month: low around Tết (Jan/Feb), high before year end."""
        month = int(period[5:])
        return {1: 0.86, 2: 0.72, 3: 1.02, 4: 1.0, 5: 1.03, 6: 1.04, 7: 1.0, 8: 0.98,
                9: 1.01, 10: 1.04, 11: 1.06, 12: 1.1}[month]

    def stock_growth(self, period: str, monthly: float) -> float:
        return (1 + monthly) ** self.month_index[period]

    # ---- dossiers ----------------------------------------------------------------
    def legacy_dossiers(self) -> list[pd.DataFrame]:
        codes = self.legacy.code.to_numpy()
        size = self.legacy_size.loc[codes].to_numpy()
        start = self.rng.uniform(18, 45, len(codes))
        end = np.minimum(start + self.rng.uniform(12, 30, len(codes)), 72)
        hanoi = codes == HA_NOI
        start[hanoi], end[hanoi] = 0.55, 0.95
        resolve_share = self.rng.uniform(0.86, 0.96, len(codes))
        on_time_share = self.rng.uniform(0.88, 0.985, len(codes))
        frames = []
        n = len(self.pre_months)
        for i, period in enumerate(self.pre_months):
            received = np.round(180 * size * self.season(period) * self.rng.normal(1, 0.04, len(codes)))
            rate = start + (end - start) * i / (n - 1) + self.rng.normal(0, 0.8, len(codes)) * ~hanoi
            online = np.round(received * np.clip(rate, 0.1, 99) / 100)
            resolved = np.round(received * np.clip(resolve_share + self.rng.normal(0, 0.01, len(codes)), 0, 1))
            on_time = np.round(resolved * np.clip(on_time_share + self.rng.normal(0, 0.006, len(codes)), 0, 1))
            frames += _rate_rows("online_application_rate", period, codes, online, received)
            frames += _rate_rows("on_time_rate", period, codes, on_time, resolved)[2:]
            frames.append(_rows("applications_resolved", period, codes, resolved))
        return frames

    def province_online_rates(self) -> pd.DataFrame:
        """Planned online-application rate per current province and month (2025-07 on)."""
        codes = self.provinces.code.to_numpy()
        t = np.arange(len(self.post_months))
        start = self.rng.uniform(45, 78, len(codes))
        end = self.rng.uniform(92, 99.3, len(codes))
        tau = self.rng.uniform(2.5, 5.0, len(codes))
        paths = start[:, None] + (end - start)[:, None] * (1 - np.exp(-t[None, :] / tau[:, None]))
        paths += self.rng.normal(0, 0.5, paths.shape)
        rates = pd.DataFrame(np.clip(paths, 1, 99.6), index=codes, columns=self.post_months)

        for period, value in ANCHORS["ha_noi_online_rate"].items():
            rates.loc[HA_NOI, period] = value
        after = [m for m in self.post_months if m > "2025-11"]
        rates.loc[HA_NOI, after] = np.clip(99.0 + self.rng.normal(0, 0.2, len(after)), 98.4, 99.6)
        for period, value in ANCHORS["phu_tho_online_rate"].items():
            rates.loc[PHU_THO, period] = value
        later = [m for m in self.post_months if m > FACT_PERIOD]
        rates.loc[PHU_THO, later] = np.linspace(88.9, 97.2, len(later)) + self.rng.normal(0, 0.3, len(later))

        # Arrange the others so Phú Thọ holds the rank the press reported.
        for period, rank in ANCHORS["phu_tho_rank"].items():
            anchor = rates.loc[PHU_THO, period]
            others = rates[period].drop(PHU_THO).sort_values(ascending=False)
            above, below = others.index[: rank - 1], others.index[rank - 1:]
            rates.loc[above, period] = np.maximum(others[above], anchor + 0.3 + self.rng.uniform(0, 4, len(above)))
            rates.loc[above, period] = np.minimum(rates.loc[above, period], 99.6)
            rates.loc[below, period] = np.minimum(others[below], anchor - 0.3 - self.rng.uniform(0, 3, len(below)))
        return rates

    def commune_dossiers(self) -> list[pd.DataFrame]:
        """Commune counts for 2025-07 on; province rows are their sums."""
        rates = self.province_online_rates()
        com = self.communes
        weight = self.rng.lognormal(0, 0.45, len(com)) * np.where(com.kind == "phường", 1.5, 1.0)
        resolve_share = pd.Series(self.rng.uniform(0.88, 0.97, len(self.provinces)), index=self.provinces.code)
        on_time_share = pd.Series(self.rng.uniform(0.9, 0.99, len(self.provinces)), index=self.provinces.code)
        groups = {code: idx.to_numpy() for code, idx in com.groupby("province_code").groups.items()}
        commune_codes = com.code.to_numpy()
        frames = []
        for period in self.post_months:
            cols = {name: np.zeros(len(com), dtype=np.int64) for name in ("rec", "onl", "res", "ont")}
            for code in self.provinces.code:
                idx = groups[code]
                received = int(round(165 * self.size[code] * self.season(period) * self.rng.normal(1, 0.03)))
                received = self._round_for_exact_rate(code, period, received)
                online = int(round(received * rates.loc[code, period] / 100))
                resolved = int(round(received * min(1.0, resolve_share[code] + self.rng.normal(0, 0.008))))
                on_time = int(round(resolved * min(1.0, on_time_share[code] + self.rng.normal(0, 0.005))))

                w = weight[idx] * self.rng.normal(1, 0.05, len(idx)).clip(0.8, 1.2)
                rec_c = self.rng.multinomial(received, w / w.sum())
                # Online share varies by commune: capacity rises with the commune's propensity,
                # and the R-weighted mean distance factor stays below 1 so capacity >= online.
                k = self.rng.uniform(0.25, 1.35, len(idx))
                k *= 0.85 / max(1e-9, (k * rec_c).sum() / max(1, rec_c.sum()))
                share = 1 - (1 - online / received) * k
                capacity = np.floor(rec_c * np.clip(share, 0, 1)).astype(np.int64)
                if capacity.sum() < online:  # fall back to no variation (never hit in practice)
                    capacity = rec_c
                onl_c = self.rng.multivariate_hypergeometric(capacity, online)
                res_c = self.rng.multivariate_hypergeometric(rec_c, resolved)
                ont_c = self.rng.multivariate_hypergeometric(res_c, on_time)
                for name, values in zip(("rec", "onl", "res", "ont"), (rec_c, onl_c, res_c, ont_c)):
                    cols[name][idx] = values
            frames += self._level(
                _rate_rows("online_application_rate", period, commune_codes, cols["onl"], cols["rec"]), "commune"
            )
            frames += self._level(
                _rate_rows("on_time_rate", period, commune_codes, cols["ont"], cols["res"])[2:], "commune"
            )
            frames += self._level([_rows("applications_resolved", period, commune_codes, cols["res"])], "commune")

            sums = pd.DataFrame({k: v for k, v in cols.items()}).groupby(com.province_code.to_numpy()).sum()
            codes = sums.index.to_numpy()
            frames += self._level(
                _rate_rows("online_application_rate", period, codes, sums.onl, sums.rec)
                + _rate_rows("on_time_rate", period, codes, sums.ont, sums.res)[2:]
                + [_rows("applications_resolved", period, codes, sums.res)],
                "province",
            )
        return frames

    @staticmethod
    def _round_for_exact_rate(code: str, period: str, received: int) -> int:
        """Choose a denominator for which the anchored rate is exact to two decimals."""
        anchors = {PHU_THO: ANCHORS["phu_tho_online_rate"], HA_NOI: ANCHORS["ha_noi_online_rate"]}
        if period not in anchors.get(code, {}):
            return received
        step = 10_000 // math.gcd(10_000, int(round(anchors[code][period] * 100)))
        return max(step, int(round(received / step)) * step)

    @staticmethod
    def _level(frames: list[pd.DataFrame], level: str) -> list[pd.DataFrame]:
        return [f.assign(level=level) for f in frames]

    # ---- other province indicators -------------------------------------------------
    def spending(self, codes, size, periods, hanoi_cap: bool) -> list[pd.DataFrame]:
        year_factor = {"2024": 1.0, "2025": 1.6, "2026": 2.0}
        plan_weight = np.array([5, 5, 7, 8, 8, 9, 8, 8, 9, 10, 11, 12], dtype=float)
        plan_weight /= plan_weight.sum()
        base_ratio = self.rng.uniform(0.62, 0.92, len(codes))
        frames = []
        for period in periods:
            month = int(period[5:])
            planned = np.round(0.9 * size * year_factor[period[:4]] * plan_weight[month - 1]
                               * self.rng.normal(1, 0.03, len(codes)), 1)
            ratio = np.clip(base_ratio + 0.02 * (month - 6) / 6 + self.rng.normal(0, 0.03, len(codes)), 0.3, 0.99)
            if hanoi_cap and period[:4] == "2024":
                ratio = np.where(codes == HA_NOI, np.clip(0.385 + self.rng.normal(0, 0.02), 0.33, 0.41), ratio)
            disbursed = np.round(planned * ratio, 1)
            frames += _rate_rows("spending_disbursement_rate", period, codes, disbursed, planned)
        return frames

    def infrastructure(self, codes, size, periods) -> list[pd.DataFrame]:
        bts0 = 19 * size * self.rng.uniform(0.9, 1.1, len(codes))
        subs0 = 1250 * size * self.rng.uniform(0.9, 1.1, len(codes))
        smart0 = self.rng.uniform(0.72, 0.82, len(codes))
        eid_share = self.rng.uniform(0.9, 1.1, len(codes))
        five_g = self.rng.uniform(0.6, 1.4, len(codes))
        frames = []
        for period in periods:
            i = self.month_index[period]
            bts = np.round(bts0 * self.stock_growth(period, 0.0025))
            months_5g = self.month_index[period] - self.month_index["2024-10"]
            stations_5g = np.round(five_g * size * 0.02 * max(0, months_5g) ** 1.3) if months_5g > 0 else np.zeros(len(codes))
            subs = np.round(subs0 * self.stock_growth(period, 0.002), -2)
            smart = np.round(subs * np.clip(smart0 + 0.0045 * i, 0, 0.95))
            eid = np.round(size * 10_000 * eid_share * np.clip(0.22 + 0.011 * i, 0, 0.85), -2)
            if PHU_THO in codes and period == FACT_PERIOD:
                at = list(codes).index(PHU_THO)
                bts[at] = ANCHORS["phu_tho_bts_2025_09"]
                stations_5g[at] = ANCHORS["phu_tho_5g_2025_09"]
                smart[at] = subs[at] * ANCHORS["phu_tho_smartphone_2025_09"] / 100
                eid[at] = ANCHORS["phu_tho_eid_2025_09"]
            frames += [
                _rows("bts_stations", period, codes, bts),
                _rows("stations_5g", period, codes, stations_5g),
                _rows("eid_level2_accounts", period, codes, eid),
            ]
            frames += _rate_rows("smartphone_rate", period, codes, smart, subs)
        return frames

    def government(self, codes, size, periods) -> list[pd.DataFrame]:
        tasks_level = self.rng.uniform(0.5, 1.5, len(codes))
        edocs = self.rng.uniform(0.8, 1.2, len(codes))
        frames = []
        for period in periods:
            received = np.round(size * 105 * edocs * self.rng.normal(1, 0.05, len(codes)))
            sent = np.round(received * self.rng.uniform(0.55, 0.68, len(codes)))
            frames += [_rows("edocs_received", period, codes, received), _rows("edocs_sent", period, codes, sent)]
            if period >= catalog.get("delayed_tasks").demo_since:
                months_in = self.month_index[period] - self.month_index["2025-01"]
                expected = size / 12 * tasks_level * 0.93 ** months_in
                frames.append(_rows("delayed_tasks", period, codes, self.rng.poisson(expected)))
        return frames

    def index766(self, codes, periods, level: str, carried: dict | None = None) -> list[pd.DataFrame]:
        """Index scores per group; ``carried`` (code -> group qualities) continues the series of
        provinces that kept their borders, so they show no jump at the 2025-07 merger."""
        total = catalog.get("index766_total")
        groups = [catalog.get(code) for code in total.components]
        quality = self.rng.uniform(0.5, 0.85, (len(codes), len(groups)))
        for row, code in enumerate(codes):
            if carried and code in carried:
                quality[row] = carried[code]
        self.index_quality = dict(zip(codes, quality))
        frames = []
        for period in periods:
            i = self.month_index[period]
            q = np.clip(quality + 0.006 * i + self.rng.normal(0, 0.015, quality.shape), 0.2, 0.995)
            points = np.round(q * np.array([g.max for g in groups]), 2)
            for j, group in enumerate(groups):
                frames.append(_rows(group.code, period, codes, points[:, j]))
            frames.append(_rows(total.code, period, codes, np.round(points.sum(axis=1), 2)))
        return self._level(frames, level)

    def procedures(self) -> list[pd.DataFrame]:
        codes = self.provinces.code.to_numpy()
        total0 = self.rng.integers(1900, 2400, len(codes))
        full0 = self.rng.uniform(0.38, 0.47, len(codes))
        frames = []
        for i, period in enumerate(self.post_months):
            total = total0 + np.round(i * self.rng.uniform(0, 4, len(codes))).astype(int)
            full = np.round(total * np.clip(full0 + 0.006 * i, 0, 0.9)).astype(int)
            at = {code: n for n, code in enumerate(codes)}
            if period == MERGER_MONTH:
                total[at[HUE]] = ANCHORS["hue_procedures_2025_07"]
                full[at[HUE]] = round(total[at[HUE]] * full0[at[HUE]])
            if period == FACT_PERIOD:
                anchor = ANCHORS["phu_tho_procedures"]
                full[at[PHU_THO]] = anchor["procedures_full_online"]
                total[at[PHU_THO]] = anchor["procedures_full_online"] + anchor["procedures_partial_online"]
            frames += [
                _rows("procedures_total", period, codes, total),
                _rows("procedures_full_online", period, codes, full),
                _rows("procedures_partial_online", period, codes, total - full),
            ]
        return self._level(frames, "province")

    def dx_criteria(self) -> list[pd.DataFrame]:
        com = self.communes
        start = self.rng.integers(8, 15, len(com))
        pace = self.rng.uniform(0.4, 1.2, len(com))
        in_hanoi = (com.province_code == HA_NOI).to_numpy()
        not_yet = self.rng.random(len(com)) < 0.3  # Hà Nội communes still at 16 in 2025-11
        frames = []
        for i, period in enumerate(self.post_months):
            met = np.minimum(17, np.floor(start + pace * i)).astype(int)
            if period >= "2025-11":
                met = np.where(in_hanoi, np.where(not_yet & (period < "2026-03"), 16, 17), met)
            elif period >= "2025-09":
                met = np.where(in_hanoi, np.maximum(met, 15), met)
            frames.append(_rows("dx_criteria_met", period, com.code.to_numpy(), met))
        return self._level(frames, "commune")

    # ---- anchors that need whole paths ---------------------------------------------
    def pin_province_paths(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Adjust monthly flows so sums since the merger and Hà Nội's tasks match the press."""
        frame = frame.copy()
        since = [m for m in self.post_months if m <= FACT_PERIOD]
        for code, total in ANCHORS["phu_tho_edocs_since_merger"].items():
            rows = (frame.indicator == code) & (frame.unit_code == PHU_THO) & frame.period.isin(since)
            values = frame.loc[rows, "value"].to_numpy()
            scaled = np.floor(values * total / values.sum())
            scaled[-1] += total - scaled.sum()
            frame.loc[rows, "value"] = scaled
        tasks = (frame.indicator == "delayed_tasks") & (frame.unit_code == HA_NOI)
        months = frame.loc[tasks, "period"]
        frame.loc[tasks, "value"] = np.maximum(
            0, ANCHORS["ha_noi_delayed_tasks_2025_11"]
            + np.round((month_index_array(months) - self.month_index["2025-11"]) * -2.5)
        )
        return frame

    def run(self) -> DemoData:
        legacy_frames = self.legacy_dossiers()
        legacy_codes = self.legacy.code.to_numpy()
        legacy_size = self.legacy_size.loc[legacy_codes].to_numpy()
        legacy_frames += self.spending(legacy_codes, legacy_size, self.pre_months, hanoi_cap=True)
        legacy_frames += self.infrastructure(legacy_codes, legacy_size, self.pre_months)
        legacy_frames += self.government(legacy_codes, legacy_size, self.pre_months)
        legacy_frames += self.index766(legacy_codes, self.pre_months, "legacy")
        legacy_quality = self.index_quality
        legacy = pd.concat(legacy_frames, ignore_index=True).rename(columns={"unit_code": "legacy_code"})
        legacy = legacy.drop(columns="level", errors="ignore")
        rebased, not_rebased = rebase_legacy(legacy)
        rebased = rebased.drop(columns="n_legacy").assign(level="province")

        codes = self.provinces.code.to_numpy()
        size = self.size.loc[codes].to_numpy()
        post = self.spending(codes, size, self.post_months, hanoi_cap=False)
        post += self.infrastructure(codes, size, self.post_months)
        post += self.government(codes, size, self.post_months)
        province_post = pd.concat(self._level(post, "province"), ignore_index=True)
        province_post = pd.concat([rebased, province_post], ignore_index=True)
        province_post = self.pin_province_paths(province_post)

        frames = [province_post]
        frames += self.commune_dossiers()
        frames += self.procedures()
        alone = self.legacy.groupby("province_code").code.agg(list)
        alone = {new: olds[0] for new, olds in alone.items() if len(olds) == 1}
        frames += self.index766(codes, self.post_months, "province",
                                carried={new: legacy_quality[old] for new, old in alone.items()})
        frames += self.index766(self.communes.code.to_numpy(), self.post_months, "commune")
        frames += self.dx_criteria()
        observations = pd.concat(frames, ignore_index=True)
        observations = observations[["indicator", "period", "level", "unit_code", "value", "numerator", "denominator"]]
        return DemoData(observations=observations, legacy=legacy, not_rebased=not_rebased)


def month_index_array(periods: pd.Series) -> np.ndarray:
    years = periods.str[:4].astype(int).to_numpy()
    months = periods.str[5:].astype(int).to_numpy()
    return (years - 2024) * 12 + months - 1


def generate() -> DemoData:
    """The demo data set (same seed, same numbers, every time)."""
    return _Generator().run()
