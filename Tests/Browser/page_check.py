#!/usr/bin/env python3
"""Drives the supervision office's page in headless Chromium (Debian's chromium and chromedriver):
log in with a token, wait for the live stream, let the caller start the simulator, see an alert
appear live, open it (track over the site outline on the map), acknowledge it with a note, watch
its status change, show the statistics, and keep a screenshot.

Usage: page_check.py --url URL --token TOKEN --ready FILE --screenshot PNG
Prints the acknowledged alert's id on the last line; exits non-zero with the reason otherwise."""
import argparse
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--screenshot", required=True)
    p.add_argument("--note", default="checked with the bureau")
    a = p.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The page re-renders what changes (a status event redraws the detail): look again, not fail.
    wait = WebDriverWait(driver, 120, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    try:
        driver.get(a.url)
        driver.find_element(By.ID, "token").send_keys(a.token)
        driver.find_element(By.ID, "login").click()
        wait.until(lambda d: d.find_element(By.ID, "live").text == "(live)")
        wait.until(lambda d: "office" in d.find_element(By.ID, "who").text)
        if driver.find_elements(By.CSS_SELECTOR, "tr.alert"):
            sys.exit("alerts were listed before the simulator started")
        open(a.ready, "w").close()

        # An alert arrives live (the list was empty when the page loaded).
        row = wait.until(lambda d: (d.find_elements(By.CSS_SELECTOR, "tr.alert.fresh") or [None])[0])
        alert_id = row.get_attribute("data-alert-id")
        time.sleep(1)  # let a few more arrive: the screenshot shows a list
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.alert[data-alert-id="{alert_id}"]').click() or True)
        wait.until(lambda d: d.find_element(By.ID, "detail-id").text == alert_id)
        if wait.until(lambda d: d.find_element(By.ID, "detail-status").text) != "open":
            sys.exit("the new alert is not open")
        # Leaflet drew the site outline and the track (SVG paths in the map pane).
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map path.leaflet-interactive")) >= 2)

        driver.find_element(By.ID, "ack-note").send_keys(a.note)
        driver.find_element(By.ID, "ack").click()
        wait.until(lambda d: d.find_element(By.ID, "detail-status").text == "acknowledged")
        wait.until(lambda d: d.find_element(
            By.CSS_SELECTOR, f'tr.alert[data-alert-id="{alert_id}"] .status').text == "acknowledged")
        wait.until(lambda d: a.note in d.find_element(By.ID, "history").text)

        driver.find_element(By.ID, "stats-from").send_keys("")  # default period: this year
        driver.find_element(By.ID, "stats-load").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#stats tr")) >= 1)
        wait.until(lambda d: d.find_element(By.ID, "alerts-count").text.startswith(str(len(d.find_elements(By.CSS_SELECTOR, "tr.alert")))))
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(a.screenshot)
        print(alert_id)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
