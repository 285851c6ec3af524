"""The web chat screenshot in docs/images/web-chat.png: the seed article indexed into a
temporary RAG_HOME, `rag serve`, one question asked in headless Chromium (Debian's, as the
browser tests drive it).

    .venv/bin/python bench/screenshot.py docs/images/web-chat.png
"""
import os, subprocess, sys, time, tempfile, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
home = tempfile.mkdtemp()
env = {**os.environ, "RAG_HOME": home, "RAG_ANSWERER": "extractive", "GRADIO_ANALYTICS_ENABLED": "False"}
subprocess.run([".venv/bin/rag", "ingest", "seeds"], env=env, check=True, capture_output=True)
server = subprocess.Popen([".venv/bin/rag", "serve", "--port", "7911"], env=env)
try:
    for _ in range(120):
        try:
            urllib.request.urlopen("http://127.0.0.1:7911/"); break
        except Exception: time.sleep(1)
    o = webdriver.ChromeOptions(); o.binary_location = "/usr/bin/chromium"
    for f in ("--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--window-size=1280,1000", f"--user-data-dir={tempfile.mkdtemp()}"):
        o.add_argument(f)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.get("http://127.0.0.1:7911/")
    W = WebDriverWait(d, 120)
    W.until(lambda _: d.find_elements(By.CSS_SELECTOR, "#question textarea"))
    d.find_element(By.CSS_SELECTOR, "#question textarea").send_keys("How much market value did Nvidia lose?", Keys.ENTER)
    W.until(lambda _: d.find_elements(By.CSS_SELECTOR, "#chat .rag-turn"))
    time.sleep(1); d.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);"); time.sleep(0.5)
    d.save_screenshot(sys.argv[1]); d.quit()
finally:
    server.terminate(); server.wait()
