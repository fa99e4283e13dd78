"""Every page the demo writes, opened in a real browser (headless Chromium) at 1024 px.

Per page: no console errors, no request leaving the machine, no sideways scrolling at 1024 px,
and the totals and a sample of amounts on the page equal allocation.csv. A screenshot of every
page goes to ``out/screenshots/`` (the repository's, ignored by git) for a person to look at.

Chromium and chromedriver are Debian's (``apt-get install chromium chromium-driver``; .ci/run
installs them when missing), driven by selenium without its download manager.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from vsvrisk.report.glossary import glossary

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "out" / "screenshots"
WIDTH = 1024
SAMPLE = (29, 21, 37, 1, 40)


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"{' or '.join(names)} not found: apt-get install -y chromium chromium-driver (.ci/run does)")


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={WIDTH},900", "--hide-scrollbars", "--force-device-scale-factor=1",
                     # Nothing may leave the machine: any host name resolves to nowhere.
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=_binary("chromedriver")), options=options)
    driver.set_window_size(WIDTH, 900)
    yield driver
    driver.quit()


def _pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def _euros(text: str) -> int:
    """A euro amount as a page shows it ("€ 7.102.495", "−€ 12.000") as an integer."""
    sign = -1 if text.strip().startswith(("−", "-")) else 1
    return sign * int(re.sub(r"[^\d]", "", text))


def _open(browser, page: Path) -> dict:
    browser.get_log("performance")  # forget the previous page's requests
    browser.get(page.as_uri())
    width = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return {"width": width, "urls": urls, "errors": errors}


def _problems(browser, out: Path, pages: list[Path], prefix: str = "") -> list[str]:
    """What is wrong with each page as a browser shows it; a screenshot of each (not every region)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for page in pages:
        seen = _open(browser, page)
        name = str(page.relative_to(out))
        if seen["errors"]:
            problems.append(f"{name}: console errors {seen['errors']}")
        outside = [u for u in seen["urls"] if not u.startswith(("file:", "data:", "about:"))]
        if outside:
            problems.append(f"{name}: requests leave the machine: {outside}")
        scroll, client = seen["width"]
        if scroll > client:
            problems.append(f"{name}: {scroll} px wide in a {client} px window")
        if "regio-" not in name or name.endswith(("regio-29.html", "regio-01.html")):
            browser.save_screenshot(str(SCREENSHOTS / (prefix + name.replace("/", "-").removesuffix(".html") + ".png")))
    return problems


def test_every_page_opens_clean_fits_1024_px_and_stays_on_the_machine(browser, demo_outputs):
    pages = _pages(demo_outputs.out)
    assert len(pages) >= 46, "index, allocation, 40 regions, explain, audit, card, impact"
    assert _problems(browser, demo_outputs.out, pages) == []


def test_the_policy_pages_open_clean_fit_1024_px_and_stay_on_the_machine(browser, policy_outputs):
    pages = _pages(policy_outputs.out)
    assert [p.name for p in pages] == ["path.html", "path.html", "prevention.html", "registration.html"]
    assert _problems(browser, policy_outputs.out, pages, prefix="policy-") == []


def test_the_amounts_on_the_pages_are_those_of_allocation_csv(browser, demo_outputs):
    out, g = demo_outputs.out, glossary("nl")
    table = pd.read_csv(out / "allocation" / "allocation.csv").set_index("region_code")
    _open(browser, out / "allocation" / "allocation.html")
    total = browser.find_element(By.CSS_SELECTOR, 'tr[data-region="total"] td[data-field="amount_eur"]').text
    assert _euros(total) == table["amount_eur"].sum() == 90_000_000
    for code in SAMPLE:
        row = f'tr[data-region="{code}"] td[data-field='
        assert _euros(browser.find_element(By.CSS_SELECTOR, row + '"amount_eur"]').text) == table.at[code, "amount_eur"]
        assert _euros(browser.find_element(By.CSS_SELECTOR, row + '"previous_eur"]').text) == table.at[code, "previous_eur"]
    for code in SAMPLE:
        _open(browser, out / "allocation" / f"regio-{code:02d}.html")
        lead = browser.find_element(By.CSS_SELECTOR, '[data-field="lead"]').text
        assert g.euro(table.at[code, "amount_eur"]) in lead.replace(" ", "\u00a0"), lead
    _open(browser, out / "index.html")
    for code in SAMPLE:
        tile = browser.find_element(By.CSS_SELECTOR, f'g[data-region="{code}"]').text
        assert g.millions(table.at[code, "amount_eur"]).replace("\u00a0", " ") in tile.replace("\u00a0", " "), tile
    _open(browser, out / "impact" / "impact.html")
    for code in SAMPLE:  # the impact's baseline is the allocation itself
        cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-region="{code}"] td[data-field="amount_eur"]').text
        assert _euros(cell) == table.at[code, "amount_eur"]


def test_a_region_page_prints_on_one_a4_page(browser, demo_outputs):
    for code in SAMPLE:
        _open(browser, demo_outputs.out / "allocation" / f"regio-{code:02d}.html")
        pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pages == 1, f"regio-{code:02d}.html prints on {pages} pages"
        assert re.search(rb"/MediaBox\s*\[\s*0\s+0\s+59[45]", pdf)  # A4: 595 x 842 points
