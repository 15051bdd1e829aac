"""The anchor for bench_verify.py: a minimal Flask app (`gunicorn tests.benchmarks.hello_app:app`)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
