"""The console in a real headless Chromium (Selenium + Debian's chromium-driver): an officer
signs in with the link /panel sent on Telegram, finds the case a contact opened on Telegram,
takes it and replies; the fake Bot API receives the reply for the contact.

Skips without a browser, except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from storage import officers, subscriptions, users
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.conftest import bot_settings
from tests.test_cases import NOW, _open_case

OFFICER, CONTACT = 7101, 7102
DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser_or_skip() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if not missing:
        return
    message = (
        f"no browser for the console test: {missing} (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_driver():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,900")
    # The driver is given explicitly: Selenium Manager never downloads anything.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


async def seed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as s, s.begin():
        await officers.add(
            s, region_code="13", name="Ana Prueba", telegram_id=str(OFFICER), now=NOW
        )
        officer = await users.get_or_create(s, "telegram", str(OFFICER), str(OFFICER), NOW)
        officer.role, officer.region_code = "officer", "13"
        contact = await users.get_or_create(s, "telegram", str(CONTACT), str(CONTACT), NOW)
        contact.role, contact.comuna_cut, contact.region_code = "municipal", "13110", "13"
        await s.flush()
        await subscriptions.subscribe(s, contact, NOW, comuna_cut="13110", region_code="13")
    await engine.dispose()


async def test_officer_takes_and_answers_a_telegram_case_in_a_real_browser(
    telegram, run_bot, database_url, tmp_path
) -> None:
    browser_or_skip()
    # The README's screenshots: refreshed with SELLO_SCREENSHOTS=1, else kept out of the tree.
    shots = DOCS if os.environ.get("SELLO_SCREENSHOTS") == "1" else tmp_path
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    await seed(database_url)
    port = free_port()
    settings = replace(
        bot_settings(database_url, telegram),
        http_port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
    await run_bot(settings)
    await _open_case(telegram, CONTACT, "Familia sin atención en el CESFAM de la comuna")
    telegram.message(OFFICER, "/panel")
    sent = await telegram.wait_text(OFFICER, "/console/entrar/")
    link = re.search(r"http://\S+/console/entrar/[A-Za-z0-9_-]+", sent.text)
    assert link is not None
    before = len(telegram.to(CONTACT))

    driver = await asyncio.to_thread(make_driver)
    try:

        def shows(text: str) -> None:
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(driver, 15).until(lambda d: text in d.page_source)

        def sign_in_and_find_the_case() -> str:
            driver.get(link.group(0))
            driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
            shows("Casos encontrados")
            assert driver.current_url.endswith("/console/casos"), driver.current_url
            driver.save_screenshot(str(shots / "console-inbox.png"))
            driver.find_element(By.PARTIAL_LINK_TEXT, "SM-").click()
            shows("Familia sin atención")
            driver.find_element(By.XPATH, "//button[normalize-space()='Tomar']").click()
            shows("Tomaste el caso")
            box = driver.find_element(By.ID, "reply-text")
            box.send_keys("Coordinamos con el CESFAM; los atenderán el lunes.")
            driver.find_element(By.XPATH, "//button[normalize-space()='Responder']").click()
            shows("Respuesta enviada")
            driver.save_screenshot(str(shots / "console-case.png"))
            # A bulletin to the region's municipalities: preview, send, live progress (htmx).
            driver.find_element(By.LINK_TEXT, "Boletín").click()
            shows("Nuevo boletín")
            driver.find_element(By.ID, "b-text").send_keys(
                "Capacitación Sello Migrante el viernes."
            )
            Select(driver.find_element(By.ID, "b-role")).select_by_value("municipal")
            driver.find_element(By.XPATH, "//button[normalize-space()='Vista previa']").click()
            shows("audience-size")
            assert driver.find_element(By.ID, "audience-size").text == "1"
            driver.find_element(By.XPATH, "//button[normalize-space()='Enviar ahora']").click()
            shows("Entrega")
            shows("terminado")  # refreshed by htmx polling, without reloading
            assert driver.find_element(By.ID, "count-sent").text == "1"
            driver.save_screenshot(str(shots / "console-bulletin.png"))
            # Usable at 360 px: no horizontal scrolling of the page itself.
            driver.set_window_size(360, 800)
            width = driver.execute_script("return document.documentElement.scrollWidth")
            return str(width)

        width = await asyncio.to_thread(sign_in_and_find_the_case)
        assert int(width) <= 360
        assert (shots / "console-case.png").stat().st_size > 1000
    finally:
        await asyncio.to_thread(driver.quit)
    sent = await telegram.wait_sent(CONTACT, before + 3)
    texts = [s.text for s in sent[before:]]
    assert any("revisando" in t for t in texts)
    assert any("los atenderán el lunes" in t for t in texts)
    assert any("Capacitación Sello Migrante" in t for t in texts)
