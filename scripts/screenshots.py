"""Screenshots of the web page for the README: `python scripts/screenshots.py [--out docs]`.

Starts `rag serve` on the built index (run `rag ingest` first), drives Debian's Chromium with
Playwright, and saves the answer view and the citation panel at desktop and phone width.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTION = (
    "How many patients were enrolled in the SWOG myeloma trial, and what dose of sorafenib did they get?"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
FLAGS += ["--disable-component-update", "--disable-sync", "--disable-quic"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        shoot(base, args.out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", headless=True, args=FLAGS
        )
        for name, size in SIZES.items():
            page = context.new_page()
            page.set_viewport_size(size)
            page.goto(f"{base}/")
            page.wait_for_selector("#examples li")
            page.fill("#question", QUESTION)
            page.press("#question", "Enter")
            page.wait_for_selector("#answer a.marker")
            page.screenshot(path=str(out / f"answer-{name}.png"))
            page.locator("#answer a.marker").first.click()
            page.wait_for_selector("#panel:not([hidden])")
            if name == "phone":
                page.locator("#panel").scroll_into_view_if_needed()
            page.screenshot(path=str(out / f"citation-{name}.png"))
            print(f"wrote {out / f'answer-{name}.png'} and {out / f'citation-{name}.png'}")
            page.close()
        context.close()


if __name__ == "__main__":
    sys.exit(main())
