"""QR codes for certificates, as PNG data URIs that xhtml2pdf embeds without any file access."""

from __future__ import annotations

import segno

#: Pixels per module. The PDF scales the image to its CSS size anyway; 4 keeps the PNG small
#: (a verify URL is a version 3-4 symbol, ~150 px) while staying crisp at print resolution.
QR_SCALE = 4
#: Quiet zone in modules. The spec asks for 4; scanners are less reliable with less when the
#: code sits next to printed borders.
QR_BORDER = 4


def qr_data_uri(url: str) -> str:
    """Return a ``data:image/png;base64,...`` URI of a QR code encoding ``url``.

    Error correction level M (~15% damage tolerated) is the usual trade-off for printed
    documents: a folded or stamped certificate still scans, and the symbol stays small.
    ``boost_error=False`` keeps the level exactly M rather than letting segno raise it.
    """
    if not url:
        raise ValueError("a QR code needs a non-empty URL")
    # make_qr, not make: segno picks a Micro QR for short data, which most phone cameras cannot read.
    code = segno.make_qr(url, error="m", boost_error=False)
    return code.png_data_uri(scale=QR_SCALE, border=QR_BORDER)
