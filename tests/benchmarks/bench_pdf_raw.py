"""Raw PDF rendering speed: the default certificate rendered N times in one process.

    python tests/benchmarks/bench_pdf_raw.py --n 500 [--name "山田 さくら"] [--page Letter/portrait]
                                             [--engine html|fast]

``--engine fast`` draws the Classic starter design with app/documents/fast.py instead of the built-in
template with xhtml2pdf (right-to-left names are not drawn by it: they go through the HTML engine).

Prints the first render (a fresh process: fonts, ReportLab and the CSS machinery load lazily),
then the warm median, p95 and renders per second. This is the engine alone: no database, no
queue, no storage -- the pipeline benchmark divided by this one shows what the rest costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere, no install


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="warm renders to time (default 200)")
    parser.add_argument("--name", default=None, help="holder name (default: the sample, Latin)")
    parser.add_argument("--page", default="A4/landscape", help="SIZE/ORIENTATION, e.g. Letter/portrait")
    parser.add_argument("--engine", choices=("html", "fast"), default="html", help="xhtml2pdf or fast")
    return parser.parse_args()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    from app.documents import default_template, render_pdf, sample_context  # noqa: PLC0415

    imported = time.perf_counter() - started
    html, css = default_template()
    context = sample_context()
    if args.name:
        context["holder_name"] = args.name
    page_size, orientation = args.page.split("/")

    from app.documents import fast  # noqa: PLC0415
    from app.documents.design_schema import check_design, page_mm, scale_design  # noqa: PLC0415
    from app.documents.designs import STARTER_PAGE, STARTERS  # noqa: PLC0415

    elements = scale_design(check_design(STARTERS["classic"][2], *STARTER_PAGE), page_mm(*STARTER_PAGE),
                            page_mm(page_size, orientation))

    def once() -> float:
        t0 = time.perf_counter()
        if args.engine == "fast":
            pdf = fast.render_design(elements, context, page_size=page_size, orientation=orientation)
        else:
            pdf = render_pdf(html, css, context, page_size=page_size, orientation=orientation)
        elapsed = time.perf_counter() - t0
        assert pdf.startswith(b"%PDF")
        return elapsed

    first = once()
    timings = [once() for _ in range(args.n)]
    total = sum(timings)
    print(f"import app.documents   {imported * 1000:8.1f} ms")
    print(f"first render           {first * 1000:8.1f} ms")
    print(f"warm median (n={args.n})  {statistics.median(timings) * 1000:8.1f} ms")
    print(f"warm p95               {percentile(timings, 0.95) * 1000:8.1f} ms")
    print(f"warm renders/s         {args.n / total:8.1f}   (one process)")


if __name__ == "__main__":
    main()
