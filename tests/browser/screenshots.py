"""Make the README's screenshots of the clinic page (docs/images/clinic-*.png).

    python tests/browser/screenshots.py [--out docs/images]

Starts `tada serve` on a fresh SQLite database and a free port (the README's first command),
walks one CIDP consultation in Debian's Chromium with Playwright, and saves one small PNG per
step (palette-reduced with Pillow, which the PDF summary's dependencies install). Not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TADA_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shrink(path: Path) -> None:
    """A 96-colour palette: text stays crisp, the file drops to a fraction."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)


def shoot(page: Any, selector: str, path: Path, *, max_height: int = 1600) -> None:
    box = page.locator(selector).bounding_box()  # relative to the viewport
    scroll_x, scroll_y = page.evaluate("[window.scrollX, window.scrollY]")
    clip = {
        "x": box["x"] + scroll_x,
        "y": box["y"] + scroll_y,
        "width": box["width"],
        "height": min(box["height"], max_height),
    }
    page.screenshot(path=str(path), clip=clip, full_page=True)
    shrink(path)
    print(f"{path} {path.stat().st_size // 1024} kB")


def walk(base: str, out: Path) -> None:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 900, "height": 900})
        page.goto(f"{base}/clinic")
        page.get_by_label("Condition", exact=True).select_option("cidp")
        shoot(page, "#step-condition", out / "clinic-1-condition.png")
        page.get_by_role("textbox", name="Age").fill("52")
        page.get_by_role("textbox", name="Weight").fill("80")
        page.get_by_role("textbox", name="Kidney function").fill("25")
        page.get_by_label("History of blood clots (thrombosis)").check()
        page.get_by_label("Intravenous immunoglobulin (IVIG)").select_option("inadequate_response")
        shoot(page, "#step-facts", out / "clinic-2-facts.png")
        for question, prefer, strength in (
            ("efficacy-safety", "a", "5"),
            ("efficacy-convenience", "a", "3"),
            ("efficacy-cost", "a", "7"),
            ("efficacy-availability", "a", "5"),
            ("efficacy-onset", "equal", None),
        ):
            page.locator(f"input[name='prefer-{question}'][value='{prefer}']").check()
            if strength:
                page.locator(f"select[name='strength-{question}']").select_option(strength)
        page.get_by_role("button", name="Work out my priorities from these answers").click()
        page.locator("#consistency p").first.wait_for()
        shoot(page, "#step-priorities", out / "clinic-3-what-matters.png")
        page.get_by_role("button", name="Show the options").click()
        page.locator("#options-out ol.order li").first.wait_for()
        page.locator("#options-out figure.icon-array img").first.wait_for()
        shoot(page, "#step-options", out / "clinic-4-options.png")
        shoot(page, "#step-decide", out / "clinic-5-print-or-record.png")
        with page.expect_popup() as opened:
            page.get_by_role("button", name="Open the printable summary").click()
        summary = opened.value
        summary.wait_for_load_state()
        summary.set_viewport_size({"width": 900, "height": 1200})
        path = out / "clinic-6-summary.png"
        summary.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 900, "height": 1200})
        shrink(path)
        print(f"{path} {path.stat().st_size // 1024} kB")
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {"TADA_DATABASE_URL": f"sqlite:///{folder}/tada.db"}
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env, cwd=ROOT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{base}/clinic", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            walk(base, args.out)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
