"""The designer's three built-in starting points (A4 landscape; other pages scale them), as data.

Each is a list of elements in the format of app/documents/design_schema.py; a school picks one in
"New template" and changes what it likes.
"""

from __future__ import annotations

from typing import Any

STARTER_PAGE = ("A4", "landscape")


def _t(text: str, x: float, y: float, w: float, h: float, size: float, *, min_size: float | None = None,
       font: str = "DejaVu Sans", bold: bool = False, upper: bool = False, color: str = "#1f2a3a",
       align: str = "center") -> dict[str, Any]:
    return {"kind": "text", "x": x, "y": y, "w": w, "h": h, "text": text, "font": font, "size": size,
            "min_size": min_size or size, "bold": bold, "upper": upper, "color": color, "align": align}


def _box(x: float, y: float, w: float, h: float, color: str, stroke: float, fill: str = "") -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": y, "w": w, "h": h, "color": color, "stroke": stroke, "fill": fill}


def _line(x: float, y: float, w: float, h: float, color: str) -> dict[str, Any]:
    return {"kind": "line", "x": x, "y": y, "w": w, "h": h, "color": color}


def _image(source: str, x: float, y: float, w: float, h: float, align: str = "center") -> dict[str, Any]:
    return {"kind": "image", "x": x, "y": y, "w": w, "h": h, "source": source, "align": align}


def _qr(x: float, y: float, side: float) -> dict[str, Any]:
    return {"kind": "qr", "x": x, "y": y, "w": side, "h": side}


NAVY, GOLD, INK, GREY = "#1f3a5f", "#b08d57", "#1f2a3a", "#5a6472"
SERIF = "DejaVu Serif"

CLASSIC: list[dict[str, Any]] = [
    _box(8, 8, 281, 194, NAVY, 4),
    _box(13, 13, 271, 184, GOLD, 0.8, "#fdfbf6"),
    _image("logo", 128.5, 18, 40, 16),
    _t("{organisation_name}", 40, 36, 217, 7, 11, min_size=7, bold=True, upper=True, color=NAVY),
    _t("{issuer_name}", 40, 43, 217, 6, 9, min_size=7, color=GREY),
    _t("Certificate of Achievement", 30, 53, 237, 16, 34, min_size=18, font=SERIF, bold=True, color=NAVY),
    _t("This is to certify that", 40, 75, 217, 7, 12, font=SERIF, color=GREY),
    _t("{holder_name}", 25, 84, 247, 17, 30, min_size=12, font=SERIF, bold=True, color=INK),
    _line(113.5, 104, 70, 0.6, GOLD),
    _t("has successfully completed the requirements for", 40, 109, 217, 7, 12, font=SERIF, color=GREY),
    _t("{certification_name}", 30, 118, 237, 12, 20, min_size=10, font=SERIF, bold=True, color=NAVY),
    _t("{courses}", 40, 132, 217, 6, 9, min_size=6, color=GREY),
    _t("Date of issue", 28, 156, 60, 5, 7, upper=True, color=GREY, align="left"),
    _t("{issued_on}", 28, 161, 60, 7, 11, min_size=8, font=SERIF, align="left"),
    _t("Certificate no.", 28, 172, 60, 5, 7, upper=True, color=GREY, align="left"),
    _t("{serial}", 28, 177, 60, 7, 10, min_size=7, font=SERIF, align="left"),
    _image("signature", 113.5, 149, 70, 16),
    _line(113.5, 167, 70, 0.3, INK),
    _t("{signatory_name}", 98.5, 169, 100, 7, 11, min_size=8, font=SERIF, bold=True),
    _t("{signatory_title}", 98.5, 176, 100, 6, 8, min_size=6, color=GREY),
    _qr(244, 146, 26),
    _t("Verify at", 216, 173, 64, 4, 6.5, upper=True, color=GREY),
    _t("{verify_url}", 216, 177, 64, 5, 6, min_size=4, color=GREY),
]

TEAL, ORANGE, SLATE = "#0f4c5c", "#e36414", "#4a5560"

MODERN: list[dict[str, Any]] = [
    _box(0, 0, 74, 210, TEAL, 0, TEAL),
    _line(74, 0, 2.5, 210, ORANGE),
    _image("logo", 12, 18, 50, 22),
    _t("{organisation_name}", 10, 46, 54, 14, 12, min_size=7, bold=True, upper=True, color="#ffffff"),
    _t("{issuer_name}", 10, 60, 54, 6, 8.5, min_size=6, color="#cfe3e8"),
    _qr(22, 150, 30),
    _t("Verify this certificate", 6, 181, 62, 5, 7, upper=True, color="#cfe3e8"),
    _t("{verify_url}", 6, 187, 62, 5, 6, min_size=4, color="#ffffff"),
    _line(92, 32, 24, 1.6, ORANGE),
    _t("Certificate of achievement", 92, 37, 190, 9, 14, bold=True, upper=True, color=ORANGE, align="left"),
    _t("{holder_name}", 92, 58, 195, 20, 36, min_size=12, bold=True, color=TEAL, align="left"),
    _t("has successfully completed", 92, 82, 190, 8, 13, color=SLATE, align="left"),
    _t("{certification_name}", 92, 92, 195, 13, 22, min_size=10, bold=True, color=INK, align="left"),
    _t("{courses}", 92, 108, 195, 7, 9.5, min_size=6, color=SLATE, align="left"),
    _line(92, 146, 195, 0.4, "#c9d3d8"),
    _t("Issued", 92, 153, 50, 5, 7.5, upper=True, color=SLATE, align="left"),
    _t("{issued_on}", 92, 158, 50, 7, 11, min_size=8, bold=True, align="left"),
    _t("Certificate no.", 145, 153, 55, 5, 7.5, upper=True, color=SLATE, align="left"),
    _t("{serial}", 145, 158, 55, 7, 11, min_size=7, bold=True, align="left"),
    _image("signature", 212, 150, 70, 16, "left"),
    _line(212, 168, 70, 0.3, INK),
    _t("{signatory_name}", 212, 170, 75, 6, 10, min_size=7, bold=True, align="left"),
    _t("{signatory_title}", 212, 176, 75, 5, 8, min_size=6, color=SLATE, align="left"),
]

MINIMAL: list[dict[str, Any]] = [
    _box(15, 15, 267, 180, "#c8c8c8", 0.5),
    _t("{organisation_name}", 32, 32, 150, 6, 9, min_size=7, bold=True, upper=True, color="#777777",
       align="left"),
    _image("logo", 215, 27, 50, 15, "right"),
    _t("Certificate", 32, 62, 150, 8, 11, upper=True, color="#777777", align="left"),
    _t("{holder_name}", 32, 74, 233, 22, 38, min_size=12, font=SERIF, color="#111111", align="left"),
    _t("{certification_name}", 32, 100, 233, 11, 17, min_size=9, color="#333333", align="left"),
    _t("Awarded {issued_on}  ·  No. {serial}", 32, 114, 233, 6, 9, min_size=7, color="#777777",
       align="left"),
    _image("signature", 32, 146, 60, 14, "left"),
    _line(32, 161, 60, 0.3, "#111111"),
    _t("{signatory_name}", 32, 164, 120, 6, 9.5, min_size=7, bold=True, color="#111111", align="left"),
    _t("{signatory_title}", 32, 170, 120, 5, 8, min_size=6, color="#777777", align="left"),
    _qr(243, 156, 22),
    _t("{verify_url}", 150, 179, 115, 4, 5.5, min_size=4, color="#999999", align="right"),
]

STARTERS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "classic": ("Classic", "Double navy frame, serif type and gold accents.", CLASSIC),
    "modern": ("Modern", "A bold teal band with the QR code, clean sans-serif type.", MODERN),
    "minimal": ("Minimal", "Lots of white space, a hairline frame, the name in large serif.", MINIMAL),
}
