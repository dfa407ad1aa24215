"""PCF and HEE domains through the real dcs-2020 crosswalk, with hand-computed values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lti_tool.progress import CAPABLE, PROFICIENT, capability_profile

from .helpers import attempt

# P1 3/4, I1 1/4, P4 0/2, and R4 from two modules 3/4 + 5/6 = 8/10.
ATTEMPTS = [attempt("a", {"P1": (3, 4), "I1": (1, 4)}), attempt("b", {"R4": (3, 4), "P4": (0, 2)}),
            attempt("c", {"R4": (5, 6)})]


def test_the_crosswalk_rows_these_values_rely_on(frameworks):
    # Read from content_packages/frameworks/dcs-2020.yaml; if the mapping changes, redo the sums below.
    pcf = frameworks["dcs-2020"].crosswalk_to("pcf-2018")
    hee = frameworks["dcs-2020"].crosswalk_to("hee-dcf-2018")
    assert [e for e, ds in pcf.items() if "PCF1" in ds] == ["P1", "I1"]
    assert [e for e, ds in pcf.items() if "PCF7" in ds] == ["P4", "P5", "R2", "R4"]
    assert [e for e, ds in pcf.items() if "PCF4" in ds] == ["P2", "R4"]
    assert [e for e, ds in hee.items() if "digital-identity" in ds] == ["P1", "P3", "R3", "R4", "I1"]
    assert [e for e, ds in hee.items() if "teaching-learning" in ds] == ["P1", "I2"]


def test_pcf_domains_add_up_the_points_of_the_elements_mapped_to_them(frameworks):
    p = capability_profile(ATTEMPTS, [], frameworks, {})
    assert [d.id for d in p.crosswalk["pcf-2018"]] == [f"PCF{i}" for i in range(1, 10)]
    # PCF1 Professionalism <- P1 3/4 + I1 1/4 = 4/8 = 50% -> Capable
    pcf1 = p.domain("PCF1", "pcf-2018")
    assert (pcf1.points, pcf1.max_points, pcf1.percent, pcf1.band) == (4, 8, 50.0, CAPABLE)
    assert pcf1.title == "Professionalism" and pcf1.elements == ("P1", "I1")
    # PCF7 Skills and interventions <- P4 0/2 + R4 8/10 (P5, R2 have no evidence) = 8/12 = 66.7% -> Capable
    pcf7 = p.domain("PCF7", "pcf-2018")
    assert (pcf7.points, pcf7.max_points) == (8, 12)
    assert pcf7.percent == pytest.approx(200 / 3)
    assert pcf7.band == CAPABLE
    # PCF4 Rights, justice and economic wellbeing <- R4 8/10 (P2 no evidence) = 80% -> Proficient;
    # R4 counts in full in both PCF4 and PCF7.
    pcf4 = p.domain("PCF4", "pcf-2018")
    assert (pcf4.percent, pcf4.band) == (80.0, PROFICIENT)
    # PCF9 Professional leadership <- I2 only: no evidence
    assert p.domain("PCF9", "pcf-2018").percent is None


def test_hee_domains_through_the_crosswalk(frameworks):
    p = capability_profile(ATTEMPTS, [], frameworks, {})
    # digital-identity <- P1 3/4 + R4 8/10 + I1 1/4 (P3, R3 none) = 12/18 = 66.7%
    di = p.domain("digital-identity", "hee-dcf-2018")
    assert (di.points, di.max_points) == (12, 18)
    assert di.percent == pytest.approx(200 / 3)
    # teaching-learning <- P1 3/4 (I2 none) = 75%
    assert p.domain("teaching-learning", "hee-dcf-2018").percent == pytest.approx(75.0)
    # communication <- P4 0/2 (P2, P5, R1, R2 none) = 0%, measured
    assert p.domain("communication", "hee-dcf-2018").percent == 0
    assert p.crosswalk_titles["hee-dcf-2018"] == "A Health and Care Digital Capabilities Framework"


def test_a_missing_target_framework_is_simply_not_shown(frameworks):
    without_hee = {k: v for k, v in frameworks.items() if k != "hee-dcf-2018"}
    p = capability_profile(ATTEMPTS, [], without_hee, {})
    assert set(p.crosswalk) == {"pcf-2018"}


def test_a_changed_crosswalk_is_data_not_code(frameworks):
    # Map R4 to PCF9 only: PCF9 becomes 8/10 and PCF7 falls to P4 0/2 = 0%.
    dcs = frameworks["dcs-2020"]
    walk = dict(dcs.crosswalk)
    walk["R4"] = {"pcf-2018": ("PCF9",)}
    p = capability_profile(ATTEMPTS, [], {**frameworks, "dcs-2020": replace(dcs, crosswalk=walk)}, {})
    assert p.domain("PCF9", "pcf-2018").percent == pytest.approx(80.0)
    assert p.domain("PCF7", "pcf-2018").percent == 0
