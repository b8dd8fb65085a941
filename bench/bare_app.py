"""The ceiling intake is measured against: Flask under the same gunicorn settings, one route that
reads the JSON body and answers 202, nothing else."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/hooks/<route>")
def hook(route):
    request.get_json()
    return {"status": "queued"}, 202
