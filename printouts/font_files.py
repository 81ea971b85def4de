"""Where the bundled font files are, without importing reportlab: the screen (desktop.appearance)
registers the same rare-character faces as the printouts, and should not pay for reportlab at start-up."""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "resources" / "fonts"
# Fallback faces for rare characters (生僻字), after the main faces; see scripts/build_rare_fonts.py.
HANAMIN_B_FILE = "HanaMinB.ttf"  # CJK Extensions B-F
EXTRA_FILE = "gd-babelstone-extra.ttf"  # Extensions G-I and what the others lack (BabelStone Han subset)
UNIFONT_EXTRA_FILE = "gd-unifont-extra.ttf"  # 81 more of Extension G (GNU Unifont subset)
RARE_FONT_FILES = (FONT_DIR / HANAMIN_B_FILE, FONT_DIR / EXTRA_FILE, FONT_DIR / UNIFONT_EXTRA_FILE)
# GB/T 9704's body face (仿宋) for official documents: Zhuque Fangsong, subset to the 8,105 characters.
FANGSONG_FILE = "gd-zhuque-fangsong.ttf"
