#!/usr/bin/env python3
"""Drives the supervision office's workbench in headless Chromium (Debian's chromium and
chromedriver) as an officer would, and checks what it shows against the API and the store:

- log in with a token; the page is Chinese (lang zh-CN, Chinese labels); the live stream is on;
- the caller starts the simulator (--ready); an alert appears live, with its kind's Chinese name
  and its agency's and site's names (not codes);
- its detail gives the evidence as a sentence (not JSON) and draws the track over the site
  outline (and the roads of the base map); it is acknowledged with a note; its status changes;
- the live stream is cut, another alert is acknowledged through the API meanwhile, and the page
  catches up by itself when the stream comes back (Last-Event-ID);
- the list exported as CSV and as XLSX, downloaded by the browser and read back (csv, openpyxl),
  holds exactly the API's alerts for the same filter;
- the enterprise page's counts per agency equal the store's (SQLite, read here);
- the overview shows the statistics table, the rates chart with its three targets, the alerts
  chart and the map of enterprises with open alerts; English is one click away.

Screenshots: --screenshot (the alerts), and beside it -enterprise.png and -overview.png.
Usage: page_check.py --url URL --token TOKEN --ready FILE --screenshot PNG --store SQLITE --downloads DIR
Prints the acknowledged alert's id on the last line; exits non-zero with the reason otherwise."""
import argparse
import calendar
import csv
import glob
import io
import json
import os
import sqlite3
import sys
import time
import urllib.request

import openpyxl
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

KINDS_ZH = {"无任务入企", "未预告", "重复检查", "多头检查", "高频次检查", "异地执法", "定位中断", "未亮码"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--screenshot", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--downloads", required=True)
    p.add_argument("--note", default="checked with the bureau")
    a = p.parse_args()
    base = a.url.rstrip("/")

    def api(path, method="GET", body=None):
        req = urllib.request.Request(base + path, method=method, headers={"Authorization": "Bearer " + a.token, "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def fail(why):
        driver.save_screenshot(a.screenshot.replace(".png", "-failure.png"))
        sys.exit(why)

    os.makedirs(a.downloads, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1200", "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": a.downloads, "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": a.downloads})
    # The page re-renders what changes (a status event redraws the detail): look again, not fail.
    wait = WebDriverWait(driver, 120, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    by_id = lambda i: driver.find_element(By.ID, i)
    try:
        driver.get(a.url)
        if driver.execute_script("return document.documentElement.lang") != "zh-CN" or by_id("tab-alerts").text != "告警":
            fail("the page is not Chinese first")
        by_id("token").send_keys(a.token)
        by_id("login").click()
        wait.until(lambda d: by_id("live").get_attribute("data-state") == "live")
        wait.until(lambda d: "office" in by_id("who").text)
        if driver.find_elements(By.CSS_SELECTOR, "tr.alert"):
            fail("alerts were listed before the simulator started")
        agencies = {g["agency_id"]: g["name"] for g in api("/api/v1/agencies")["agencies"]}
        open(a.ready, "w").close()

        # An alert arrives live (the list was empty when the page loaded), with names.
        row = wait.until(lambda d: (d.find_elements(By.CSS_SELECTOR, "tr.alert.fresh") or [None])[0])
        alert_id = row.get_attribute("data-alert-id")
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        if cells[1] not in KINDS_ZH:
            fail(f"the kind is not shown by its Chinese name: {cells}")
        stored = api(f"/api/v1/alerts/{alert_id}")["alert"]
        if stored["agency_id"] and cells[2] != agencies[stored["agency_id"]]:
            fail(f"the agency is not shown by its name: {cells}")
        if stored.get("site_name") and cells[3] != stored["site_name"]:
            fail(f"the site is not shown by its name: {cells}")
        time.sleep(2)  # let a few more arrive: the screenshot shows a list
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.alert[data-alert-id="{alert_id}"]').click() or True)
        wait.until(lambda d: by_id("detail-id").text == alert_id)
        if wait.until(lambda d: by_id("detail-status").get_attribute("data-status")) != "open":
            fail("the new alert is not open")
        sentence = wait.until(lambda d: by_id("evidence-text").text)
        if "{" in sentence or not any("\u4e00" <= c <= "\u9fff" for c in sentence):
            fail(f"the evidence is not a Chinese sentence: {sentence!r}")
        # Leaflet drew the site outline and the track (SVG paths in the map pane).
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive")) >= 2)

        by_id("ack-note").send_keys(a.note)
        by_id("ack").click()
        wait.until(lambda d: by_id("detail-status").get_attribute("data-status") == "acknowledged")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.alert[data-alert-id="{alert_id}"] .status').get_attribute("data-status") == "acknowledged")
        wait.until(lambda d: a.note in by_id("history").text)
        if by_id("detail-status").text != "已确认":
            fail("the status is not shown in Chinese")
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(a.screenshot)

        # The stream cut; meanwhile another alert is acknowledged; the page catches up by itself.
        others = [tr.get_attribute("data-alert-id") for tr in driver.find_elements(By.CSS_SELECTOR, "tr.alert")
                  if tr.find_element(By.CSS_SELECTOR, ".status").get_attribute("data-status") == "open"]
        if not others:
            fail("no other open alert to acknowledge while the stream is cut")
        other = others[0]
        driver.execute_script("streamAbort.abort(); liveState('reconnecting');")
        api(f"/api/v1/alerts/{other}/acknowledge", "POST", {"note": "while the page was away"})
        time.sleep(1.5)
        if driver.find_element(By.CSS_SELECTOR, f'tr.alert[data-alert-id="{other}"] .status').get_attribute("data-status") != "open":
            fail("the page changed while its stream was cut: the test shows nothing")
        driver.execute_script("listen();")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.alert[data-alert-id="{other}"] .status').get_attribute("data-status") == "acknowledged")

        # Exports of the current filter, downloaded by the browser, equal the API's rows.
        expected = sorted(x["alert_id"] for x in api("/api/v1/alerts?status=open,acknowledged&limit=1000")["alerts"])
        for button, pattern in (("export-csv", "alerts-*.csv"), ("export-xlsx", "alerts-*.xlsx")):
            by_id(button).click()
            path = wait.until(lambda d: [f for f in glob.glob(os.path.join(a.downloads, pattern)) if os.path.getsize(f) > 0] or None)[0]
            time.sleep(0.5)
            raw = open(path, "rb").read()
            if pattern.endswith("csv"):
                if raw[:3] != b"\xef\xbb\xbf":
                    fail("the CSV has no byte-order mark")
                rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
            else:
                rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(raw)).active.iter_rows(values_only=True)]
            if rows[0][0] != "告警编号" or sorted(r[0] for r in rows[1:]) != expected:
                fail(f"{pattern}: {len(rows) - 1} rows, not the API's {len(expected)}")

        # The enterprise page, from the alert's detail: its counts are the store's.
        enterprise = stored["enterprise_id"]
        wait.until(lambda d: by_id("detail-enterprise").click() or True)
        wait.until(lambda d: by_id("enterprise-name").get_attribute("data-enterprise") == enterprise)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#enterprise-agencies tr"))
        year = int(by_id("enterprise-year").get_attribute("value"))
        db = sqlite3.connect(f"file:{a.store}?mode=ro", uri=True)
        # The year in the office's zone (Asia/Shanghai, UTC+8, the default time_zone).
        start = calendar.timegm((year, 1, 1, 0, 0, 0)) * 1000 - 8 * 3600 * 1000
        end = calendar.timegm((year + 1, 1, 1, 0, 0, 0)) * 1000 - 8 * 3600 * 1000
        store_counts = dict(db.execute(
            "SELECT agency_id, count(*) FROM visits WHERE enterprise_id = ? AND agency_id IS NOT NULL AND superseded_by IS NULL "
            "AND start >= ? AND start < ? GROUP BY agency_id", (enterprise, start, end)).fetchall())
        shown = {tr.get_attribute("data-agency"): int(tr.find_elements(By.TAG_NAME, "td")[1].text)
                 for tr in driver.find_elements(By.CSS_SELECTOR, "#enterprise-agencies tr")}
        shown = {k: v for k, v in shown.items() if v > 0}
        if not store_counts or shown != store_counts:
            fail(f"the enterprise page's visits per agency {shown} are not the store's {store_counts}")
        occasions = dict(db.execute(
            "SELECT agency_id, count(DISTINCT occasion_id) FROM visits WHERE enterprise_id = ? AND agency_id IS NOT NULL "
            "AND superseded_by IS NULL AND start >= ? AND start < ? GROUP BY agency_id", (enterprise, start, end)).fetchall())
        for tr in driver.find_elements(By.CSS_SELECTOR, "#enterprise-agencies tr"):
            agency = tr.get_attribute("data-agency")
            if agency in occasions and int(tr.find_elements(By.TAG_NAME, "td")[2].text) < occasions[agency]:
                fail(f"{agency}: fewer occasions shown than the store's {occasions[agency]}")
        for tr in driver.find_elements(By.CSS_SELECTOR, "#enterprise-agencies tr"):
            if agencies.get(tr.get_attribute("data-agency"), "?") not in tr.text:
                fail(f"the enterprise page names no agency: {tr.text!r}")
        if len(driver.find_elements(By.CSS_SELECTOR, "#enterprise-timeline circle.visit-dot")) != sum(store_counts.values()):
            fail("the timeline does not show every visit")
        driver.save_screenshot(a.screenshot.replace(".png", "-enterprise.png"))

        # The overview: rates per agency with the targets drawn, alerts over time, the map.
        # The scenario's month (it starts on 2026-03-02), whatever today is.
        driver.execute_script("document.getElementById('stats-from').value = arguments[0]; document.getElementById('stats-to').value = arguments[1];",
                              stored["at"][:8] + "01", stored["at"][:8] + "28")
        by_id("tab-overview").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#stats tr")) >= 1)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rates-svg line.target")) == 3)
        for tr in driver.find_elements(By.CSS_SELECTOR, "#stats tr"):
            agency = tr.get_attribute("data-agency")
            if (agencies[agency] if agency else "全部部门") not in tr.text:
                fail(f"the overview names no agency: {tr.text!r}")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rates-svg rect.rate-bar"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#alerts-svg rect.alert-bar"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#overview-map path.alert-site"))
        time.sleep(1)
        driver.save_screenshot(a.screenshot.replace(".png", "-overview.png"))

        # English is one click away, and back.
        by_id("lang").click()
        wait.until(lambda d: by_id("tab-alerts").text == "Alerts" and d.execute_script("return document.documentElement.lang") == "en")
        by_id("lang").click()
        wait.until(lambda d: by_id("tab-alerts").text == "告警")
        print(alert_id)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
