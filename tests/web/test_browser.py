"""The page end to end in a real headless Chromium (Debian's, driven by Selenium through the
system chromedriver; nothing is downloaded): play as the doctor and as the patient, browse a
run, and read a transcript whose messages hold markup.

Set CLINIC_ENV_SCREENSHOTS to a folder to keep a screenshot of each page visited.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium")

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import Select, WebDriverWait

from clinic_env.datasets import find_case
from clinic_env.web.app import WebSettings, create_app
from tests.web.conftest import MARKUP

CHROMIUM = os.environ.get("CLINIC_ENV_CHROMIUM") or shutil.which("chromium")
CHROMEDRIVER = os.environ.get("CLINIC_ENV_CHROMEDRIVER") or shutil.which("chromedriver")
MISSING = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CLINIC_ENV_REQUIRE_BROWSER"):  # CI sets it: a skip there would hide a gap
        pytest.fail(MISSING, pytrace=False)
    pytest.skip(MISSING, allow_module_level=True)
WAIT_S = 30
BROWSER_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def site(runs_root: Path) -> Iterator[str]:
    """The page served by uvicorn in a thread, as `clinic-env web` serves it."""
    settings = WebSettings(runs=runs_root, play_out=runs_root / "web-play")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(WAIT_S)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look online
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*BROWSER_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def wait(driver: WebDriver) -> WebDriverWait:
    return WebDriverWait(driver, WAIT_S)


def snap(driver: WebDriver, name: str) -> None:
    folder = os.environ.get("CLINIC_ENV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def no_error(driver: WebDriver) -> None:
    box = driver.find_element(By.ID, "error")
    assert not box.is_displayed(), box.text


def start(driver: WebDriver, site: str, role: str, case_id: str, max_turns: int = 20) -> None:
    driver.get("about:blank")  # the same URL again would not reload the page
    driver.get(f"{site}#/play")
    wait(driver).until(lambda d: len(Select(d.find_element(By.ID, "case")).options) > 1)
    Select(driver.find_element(By.ID, "role")).select_by_value(role)
    Select(driver.find_element(By.ID, "case")).select_by_value(case_id)
    limit = driver.find_element(By.ID, "max-turns")
    limit.clear()
    limit.send_keys(str(max_turns))
    snap(driver, f"play-setup-{role}")
    driver.find_element(By.ID, "start").click()
    wait(driver).until(shown.presence_of_element_located((By.ID, "chat")))


def test_a_doctor_plays_a_whole_consultation_in_the_browser(site, browser):
    truth = find_case("starter", "cardio-001").ground_truth.diagnosis
    start(browser, site, "doctor", "cardio-001")
    assert truth not in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.ID, "message").send_keys("Where exactly is the pain?")
    browser.find_element(By.ID, "send").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chat .msg.patient"))
    browser.find_element(By.CSS_SELECTOR, 'button.exam[data-system="cardiovascular"]').click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chat .msg.measurement"))
    browser.find_element(By.ID, "test-name").send_keys("Cardiac troponin")
    browser.find_element(By.ID, "order-test").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "chat"), "cost $35"))
    assert "tests so far $35" in browser.find_element(By.ID, "status").text
    assert truth not in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.ID, "differential").send_keys("STEMI\nPericarditis")
    browser.find_element(By.ID, "submit-diagnosis").click()
    wait(browser).until(shown.visibility_of_element_located((By.ID, "result")))
    no_error(browser)
    assert browser.find_element(By.ID, "truth").text == truth
    scores = browser.find_element(By.ID, "scores").text
    assert "top1 1" in scores
    assert browser.find_elements(By.CSS_SELECTOR, "#elicited li")
    assert "matched" in browser.find_element(By.ID, "feedback").text
    assert browser.find_element(By.ID, "send").get_attribute("disabled") is not None
    snap(browser, "play-doctor-result")


@pytest.mark.parametrize("role", ["doctor", "patient"])
def test_a_player_abandons_a_consultation_and_is_back_at_the_setup(site, browser, role: str):
    start(browser, site, role, "cardio-001")
    browser.find_element(By.ID, "abandon").click()
    wait(browser).until(shown.presence_of_element_located((By.ID, "setup")))
    time.sleep(1)  # a patient's page polls: it must stop, not report the play as gone
    no_error(browser)


def test_a_person_plays_the_patient_in_the_browser(site, browser):
    case = find_case("starter", "resp-001")
    start(browser, site, "patient", case.id, max_turns=6)
    assert browser.find_element(By.ID, "notes").text.startswith("You are a")
    snap(browser, "play-patient")
    for _ in range(8):
        wait(browser).until(
            lambda d: (
                d.find_element(By.ID, "result").is_displayed()
                or d.find_element(By.ID, "reply").is_enabled()
            )
        )
        if browser.find_element(By.ID, "result").is_displayed():
            break
        assert case.ground_truth.diagnosis not in browser.find_element(By.TAG_NAME, "body").text
        browser.find_element(By.ID, "reply").send_keys("I'm not sure, doctor.")
        browser.find_element(By.ID, "send-reply").click()
    wait(browser).until(shown.visibility_of_element_located((By.ID, "result")))
    no_error(browser)
    assert browser.find_element(By.ID, "truth").text == case.ground_truth.diagnosis
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chat .msg.doctor")) >= 2
    snap(browser, "play-patient-result")


def test_a_run_is_filtered_and_a_transcript_read(site, browser):
    browser.get(f"{site}#/runs")
    wait(browser).until(shown.presence_of_element_located((By.LINK_TEXT, "small")))
    snap(browser, "runs")
    browser.find_element(By.LINK_TEXT, "small").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "row-count"), "of 24"))
    Select(browser.find_element(By.ID, "filter-persona")).select_by_value("hostile")
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "row-count"), "of 12"))
    Select(browser.find_element(By.ID, "filter-doctor")).select_by_value("random")
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "row-count"), "1–6 of 6"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
    assert len(rows) == 6 and all("hostile" in r.text and "random" in r.text for r in rows)
    assert browser.find_elements(By.CSS_SELECTOR, "#report img")
    snap(browser, "run")
    browser.find_elements(By.CSS_SELECTOR, "a.open")[0].click()
    wait(browser).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#turns .turn")))
    no_error(browser)
    assert "persona hostile" in browser.find_element(By.TAG_NAME, "body").text
    assert "top1" in browser.find_element(By.ID, "score").text
    assert browser.find_elements(By.CSS_SELECTOR, "#facts li")
    assert browser.find_element(By.ID, "reward-totals").text
    snap(browser, "consultation")
    browser.find_element(By.ID, "back").click()
    wait(browser).until(shown.text_to_be_present_in_element((By.ID, "row-count"), "1–6 of 6"))


def test_markup_in_a_transcript_shows_as_text_and_never_runs(site, browser):
    browser.get(f"{site}#/run?name=played&index=0")
    wait(browser).until(shown.presence_of_element_located((By.CSS_SELECTOR, "#turns .turn")))
    turns = browser.find_element(By.ID, "turns")
    assert MARKUP in turns.text
    assert turns.find_elements(By.TAG_NAME, "script") == []
    assert turns.find_elements(By.TAG_NAME, "img") == []
    assert browser.execute_script("return window.__pwned") is None
    snap(browser, "consultation-markup")
