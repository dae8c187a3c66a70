"""mapapp: grid-based city management over PostGIS."""
from __future__ import annotations

from flask import Flask

from mapapp.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app: settings, database engine, blueprints."""
    from mapapp.web import setup

    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None, template_folder="web/templates")
    setup.configure(app, settings)
    return app
