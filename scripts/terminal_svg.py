"""A terminal's text as an SVG picture, for the documentation's screenshots of command output (the tests and the
demo write them; `make screenshots` copies them into docs/images/).

usage: COMMAND | python scripts/terminal_svg.py OUT.svg TITLE
"""

import html
import re
import sys
from pathlib import Path

ESCAPES = re.compile(r"\x1b\[[0-9;]*m")
LINE_HEIGHT, CHAR_WIDTH, MARGIN = 18, 8.4, 16


def terminal_svg(text: str, title: str) -> str:
    """The lines of text, their colour codes dropped, on a dark terminal window with its title."""
    lines = ESCAPES.sub("", text).rstrip("\n").splitlines() or [""]
    width = int(max(len(line) for line in [*lines, title]) * CHAR_WIDTH + 2 * MARGIN)
    height = (len(lines) + 2) * LINE_HEIGHT + 2 * MARGIN
    rows = "\n".join(
        f'<text x="{MARGIN}" y="{MARGIN + (index + 2.5) * LINE_HEIGHT}" xml:space="preserve">{html.escape(line)}</text>'
        for index, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="DejaVu Sans Mono, monospace" font-size="14">\n'
        f'<rect width="100%" height="100%" rx="8" fill="#1e1e1e"/>\n'
        f'<text x="{MARGIN}" y="{MARGIN + LINE_HEIGHT}" fill="#9a9a9a">{html.escape(title)}</text>\n'
        f'<g fill="#e6e6e6">\n{rows}\n</g>\n</svg>\n'
    )


def save_terminal(path: Path, text: str, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(terminal_svg(text, title))
    return path


if __name__ == "__main__":
    save_terminal(Path(sys.argv[1]), sys.stdin.read(), sys.argv[2])
