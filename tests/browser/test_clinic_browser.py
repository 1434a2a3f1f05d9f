"""The clinic page in a real browser: mouse, keyboard only, inline errors, trade-offs, 390 px,
print, and an axe-core scan. Each test is one consultation from an empty page."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
from playwright.sync_api import expect

NOT_ADVICE = "TADA orders options by the priorities you stated; it is not a recommendation."


def tab_to(page: Any, selector: str, *, limit: int = 300) -> None:
    """Press Tab until `selector` has the focus: proves it is reachable by keyboard alone."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def answer(page: Any, question: str, prefer: str, strength: str | None = None) -> None:
    page.locator(f"input[name='prefer-{question}'][value='{prefer}']").check()
    if strength is not None:
        page.locator(f"select[name='strength-{question}']").select_option(strength)


def fill_cidp_case_with_the_mouse(page: Any) -> None:
    page.get_by_label("Condition", exact=True).select_option("cidp")
    page.get_by_role("textbox", name="Age").fill("52")
    page.get_by_role("textbox", name="Weight").fill("80")
    page.get_by_role("textbox", name="Kidney function").fill("25")
    page.get_by_label("History of blood clots (thrombosis)").check()
    page.get_by_label("At home").check()
    # treatments already tried: IVIG, which did not help enough
    page.get_by_label("Intravenous immunoglobulin (IVIG)").select_option("inadequate_response")
    expect(page.get_by_label("Yes, as below")).to_be_checked()
    answer(page, "efficacy-safety", "a", "5")
    answer(page, "efficacy-convenience", "a", "3")
    answer(page, "efficacy-cost", "a", "7")
    answer(page, "efficacy-availability", "a", "5")
    answer(page, "efficacy-onset", "equal")
    page.get_by_role("button", name="Work out my priorities from these answers").click()
    expect(page.locator("#consistency")).to_contain_text("fit together well")


def show_options(page: Any) -> None:
    page.get_by_role("button", name="Show the options").click()
    expect(page.locator("#options-out ol.order li").first).to_be_visible()


def test_the_whole_flow_with_the_mouse(page: Any, script_errors: list[str]) -> None:
    expect(page.locator("header .not-advice")).to_contain_text(NOT_ADVICE)
    fill_cidp_case_with_the_mouse(page)
    # The elicited weights are in the sliders, the largest at 10, and can still be moved.
    expect(page.locator("#wv-efficacy")).to_have_text("10")
    expect(page.locator("#w-cost")).not_to_have_value("5")
    show_options(page)
    options = page.locator("#options-out")
    expect(options).to_contain_text("Chronic inflammatory demyelinating polyneuropathy")
    expect(options).to_contain_text("fits your priorities")
    expect(options).to_contain_text("What would change the order")
    expect(page.locator("#step-options .not-advice")).to_contain_text(NOT_ADVICE)
    # what was tried and did not help is out, with the reason; what comes later is named
    expect(options.locator(".reasons li", has_text="Intravenous immunoglobulin")).to_be_visible()
    expect(options).to_contain_text("What usually comes later")
    expect(options.locator("figure.icon-array figcaption").first).to_contain_text("out of 100")
    expect(options.locator(".cautions li").first).to_contain_text("Caution:")
    # every figure shows its source on demand
    figure = options.locator("figure.icon-array").first
    expect(figure.locator("details.source li")).to_be_hidden()
    figure.locator("summary", has_text="Source").click()
    expect(figure.locator("details.source li")).to_be_visible()
    expect(figure.locator("img")).to_have_js_property("complete", True)
    # the option grid: the patients' questions, one column per option, each cell cited
    grid = options.locator("table.grid")
    expect(grid.locator("caption")).to_contain_text("Option grid")
    expect(grid.locator("tbody tr").first.locator("th")).to_be_visible()
    pictures = grid.locator("tr", has_text="The chances as pictures")
    expect(pictures.locator("img[alt*='out of 100']").first).to_be_visible()
    # the page never says which option to choose
    words = page.locator("main").inner_text().lower()
    for advice in ("we recommend", "you should choose", "the best option", "best choice"):
        assert advice not in words
    assert script_errors == []


def test_the_whole_flow_with_the_keyboard_only(page: Any, script_errors: list[str]) -> None:
    tab_to(page, "#condition-code")
    page.keyboard.type("G61.81")
    page.keyboard.press("Enter")
    expect(page.locator("#condition-code-found")).to_contain_text("Chronic inflammatory")
    expect(page.locator("#condition")).to_have_value("cidp")
    tab_to(page, "#age")
    page.keyboard.type("52")
    tab_to(page, "#egfr")
    page.keyboard.type("25")
    tab_to(page, "input[value='thrombosis_history']")
    page.keyboard.press("Space")
    expect(page.locator("input[value='thrombosis_history']")).to_be_checked()
    for question in ("efficacy-safety", "efficacy-convenience", "efficacy-cost"):
        tab_to(page, f"input[name='prefer-{question}']")  # the first radio: "a"
        page.keyboard.press("Space")
        expect(page.locator(f"input[name='prefer-{question}'][value='a']")).to_be_checked()
    tab_to(page, "input[name='prefer-efficacy-availability']")
    page.keyboard.press("ArrowRight")  # -> "about the same"
    expect(
        page.locator("input[name='prefer-efficacy-availability'][value='equal']")
    ).to_be_checked()
    tab_to(page, "input[name='prefer-efficacy-onset']")
    page.keyboard.press("ArrowRight")
    tab_to(page, "#elicit")
    page.keyboard.press("Enter")
    expect(page.locator("#consistency")).to_contain_text("fit together")
    tab_to(page, "#show-options")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus outline"
    page.keyboard.press("Enter")
    expect(page.locator("#options-out ol.order li").first).to_be_visible()
    # focus moves to the options, so a screen reader user hears them next
    expect(page.locator("#step-options")).to_be_focused()
    tab_to(page, "#print-html")
    assert script_errors == []


def test_a_history_marked_as_listed_needs_a_treatment(page: Any) -> None:
    page.get_by_label("Condition", exact=True).select_option("cidp")
    page.get_by_label("Yes, as below").check()
    page.get_by_role("button", name="Show the options").click()
    expect(page.locator("#history-error")).to_contain_text("None yet")
    page.get_by_label("None yet").check()
    show_options(page)
    expect(page.locator("#history-error")).to_be_hidden()


def test_impossible_values_are_shown_next_to_their_field(page: Any) -> None:
    page.get_by_label("Condition", exact=True).select_option("cidp")
    page.get_by_role("textbox", name="Age").fill("200")
    page.get_by_role("textbox", name="Kidney function").fill("-5")
    page.get_by_role("button", name="Show the options").click()
    age_error = page.locator("#age-error")
    expect(age_error).to_be_visible()
    expect(age_error).to_contain_text("125 or less")
    expect(page.locator("#egfr-error")).to_contain_text("0 or more")
    expect(page.locator("#age")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#weight-error")).to_be_hidden()
    # the summary at the top is focused and links to the field
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Age").click()
    expect(page.locator("#age")).to_be_focused()
    expect(page.locator("#options-out ol.order")).to_have_count(0)


def test_inconsistent_trade_off_answers_are_explained(page: Any) -> None:
    page.locator("#more-questions summary").click()
    answer(page, "efficacy-safety", "a", "7")
    answer(page, "safety-convenience", "a", "7")
    answer(page, "efficacy-convenience", "b", "7")
    for question in ("efficacy-cost", "efficacy-availability", "efficacy-onset"):
        answer(page, question, "equal")
    page.get_by_role("button", name="Work out my priorities from these answers").click()
    consistency = page.locator("#consistency")
    expect(consistency).to_contain_text("Some answers do not fit together")
    expect(consistency).to_contain_text("go round in a circle")
    expect(consistency.locator("ul.conflicts li")).to_have_count(3)
    note = page.locator("#q-efficacy-convenience .conflict-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("does not fit")
    # weights are still given, marked as a rough guide, never silently averaged
    expect(consistency).to_contain_text("rough guide")
    expect(page.locator("#q-efficacy-cost .conflict-note")).to_be_hidden()


def test_too_few_answers_name_what_is_missing(page: Any) -> None:
    answer(page, "efficacy-safety", "a", "3")
    page.get_by_role("button", name="Work out my priorities from these answers").click()
    error = page.locator("#answers-error")
    expect(error).to_contain_text("Less time, travel and needles")
    expect(page.locator("#wv-efficacy")).to_have_text("5")  # priorities left as they were


@pytest.mark.parametrize("page", [{"width": 390, "height": 844}], indirect=True)
def test_the_page_reads_at_390_px_without_sideways_scrolling(page: Any) -> None:
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at a 390 px viewport"
    # the wide option grid scrolls inside its own labelled, focusable region
    region = page.locator(".table-wrap").first
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("tabindex", "0")


def test_the_printed_summary(page: Any) -> None:
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    first = page.locator("#options-out ol.order li .option-name").first.inner_text()
    page.get_by_label("Option chosen (optional)").select_option(label=first)
    page.get_by_label("Note (optional; no names or other identifiers)").fill("Talk again in May.")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Open the printable summary").click()
    summary = opened.value
    summary.wait_for_load_state()
    text = summary.locator("body").inner_text()
    assert "Chronic inflammatory demyelinating polyneuropathy" in text
    assert "Talk again in May." in text
    assert "not a recommendation" in text.lower() or "not advice" in text.lower()
    summary.emulate_media(media="print")
    assert summary.pdf(format="A4").startswith(b"%PDF")
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download as PDF").click()
    pdf_path = downloaded.value.path()
    with open(pdf_path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_the_printed_page_hides_controls(page: Any) -> None:
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Show the options")).to_be_hidden()
    expect(page.locator("#options-out ol.order")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize(
    "page", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], indirect=True
)
def test_axe_finds_no_serious_or_critical_violations(page: Any, axe_source: str) -> None:
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    page.get_by_role("button", name="Show the options").click()  # errors cleared, options shown
    page.evaluate(axe_source)
    results = page.evaluate(
        """async () => await axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in bad
    ]
    assert described == []
    assert len(results["passes"]) > 20  # axe really ran over the page


def test_recording_a_decision_asks_for_a_clinician_key(page: Any, live_server: Any) -> None:
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    record = page.get_by_role("button", name="Record the decision")
    record.click()
    expect(page.locator("#api-key-error")).to_contain_text("Enter a clinician key")
    page.get_by_label("Clinician key").fill("tada_wrong_key")
    record.click()
    expect(page.locator("#api-key-error")).to_contain_text("not valid")
    page.get_by_label("Clinician key").fill(live_server.key("clinician"))
    record.click()  # decided, but no option chosen: shown next to the choice
    expect(page.locator("#decision-choice-error")).to_contain_text("Choose the option")
    first = page.locator("#options-out ol.order li .option-name").first.inner_text()
    page.get_by_label("Option chosen", exact=True).select_option(label=first)
    record.click()
    expect(page.locator("#record-status")).to_contain_text("Recorded.")
    # the key lives in this tab's session storage only, never in a cookie
    stored = page.evaluate("sessionStorage.getItem('tada.clinician_key')")
    assert stored.startswith("tada_")
    assert page.context.cookies() == []


def test_a_wrong_key_kept_in_the_tab_does_not_block_exploring(page: Any) -> None:
    page.evaluate("sessionStorage.setItem('tada.clinician_key', 'tada_revoked_key')")
    fill_cidp_case_with_the_mouse(page)
    show_options(page)
    assert page.evaluate("sessionStorage.getItem('tada.clinician_key')") is None
