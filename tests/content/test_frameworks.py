"""Framework files: the shipped editions, their crosswalk, and new editions as data only."""

from __future__ import annotations

import shutil

from lti_tool.content import load_frameworks, load_module
from lti_tool.content.frameworks import load_framework
from lti_tool.content.library import SHIPPED_FRAMEWORKS

from .helpers import edit


def test_shipped_frameworks(frameworks):
    assert sorted(frameworks) == ["dcs-2020", "hee-dcf-2018", "pcf-2018", "qaa-sbs-sw-2019"]
    for fw in frameworks.values():
        assert fw.id.endswith("-" + fw.edition)
    dcs = frameworks["dcs-2020"]
    assert [d.id for d in dcs.domains] == ["purpose", "practice", "impact"]
    assert list(dcs.alignable) == ["P1", "P2", "P3", "P4", "P5", "R1", "R2", "R3", "R4", "R5", "I1", "I2"]
    assert dcs.domain_of("R4") == "practice" and dcs.domain_of("I2") == "impact"
    assert all(el.summary for el in dcs.elements)
    pcf = frameworks["pcf-2018"]
    assert list(pcf.alignable) == [f"PCF{i}" for i in range(1, 10)]
    assert pcf.level_ids == [f"L{i}" for i in range(1, 10)]
    hee = frameworks["hee-dcf-2018"]
    assert list(hee.alignable) == ["communication", "teaching-learning", "information-literacy",
                                   "creation-innovation", "technical-proficiency", "digital-identity"]
    assert hee.level_ids == ["1", "2", "3", "4"]
    assert list(frameworks["qaa-sbs-sw-2019"].alignable) == [
        "ict-communication", "ict-information", "ict-search", "ict-with-people", "statistics-research",
        "ict-problem-solving", "numeracy-finance"]


def test_every_dcs_element_crosswalks_to_pcf_and_hee(frameworks):
    dcs = frameworks["dcs-2020"]
    for other in ("pcf-2018", "hee-dcf-2018"):
        mapping = dcs.crosswalk_to(other)
        assert sorted(mapping) == sorted(dcs.alignable)
        for element, targets in mapping.items():
            assert targets, f"{element} has no {other} mapping"
            assert set(targets) <= set(frameworks[other].alignable)


def test_new_edition_is_just_a_file(tmp_path, frameworks, good_copy):
    folder = tmp_path / "frameworks"
    shutil.copytree(SHIPPED_FRAMEWORKS, folder)
    new = folder / "qaa-sbs-sw-2026.yaml"
    shutil.copy(folder / "qaa-sbs-sw-2019.yaml", new)
    edit(new, "id: qaa-sbs-sw-2019", "id: qaa-sbs-sw-2026")
    edit(new, 'edition: "2019"', 'edition: "2026"')
    edit(new, "      - {id: numeracy-finance,", "      - {id: generative-ai, title: Generative AI}\n"
                                              "      - {id: numeracy-finance,")
    problems = []
    loaded = load_frameworks(folder, problems)
    assert problems == [] and "generative-ai" in loaded["qaa-sbs-sw-2026"].alignable
    edit(good_copy / "module.yaml", "  qaa-sbs-sw-2019: [ict-with-people]",
         "  qaa-sbs-sw-2019: [ict-with-people]\n  qaa-sbs-sw-2026: [generative-ai]")
    assert load_module(good_copy, loaded).problems == []


def test_framework_errors_have_lines(tmp_path):
    path = tmp_path / "dcs-2020.yaml"
    shutil.copy(SHIPPED_FRAMEWORKS / "dcs-2020.yaml", path)
    edit(path, "  P2: {pcf-2018: [PCF2, PCF4]", "  P2: {pcf-2018: [PCF2, PCF44]")
    edit(path, 'edition: "2020"', 'edition: "2021"')
    problems = []
    fw = load_framework(path, problems)
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [
        (4, "framework id 'dcs-2020' must end with its edition '-2021' so editions can live side by side")]
    assert fw is None
    edit(path, 'edition: "2021"', 'edition: "2020"')
    problems = []
    load_frameworks(tmp_path, problems)  # only this file: the crosswalk targets are missing too
    assert problems and all(p.path == path for p in problems)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("  P2:"))
    assert {p.line for p in problems if "P2" in p.message} == {line}
