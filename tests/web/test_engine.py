"""The app's own database engine: how its connections plan statements."""
from sqlalchemy import text

from mapapp.web.setup import ext


def test_app_connections_plan_for_actual_values(app):
    """Generic plans of prepared statements ignored time ranges and boxes (lists 20x slower)."""
    with app.app_context():
        with ext(app)["engine"].connect() as conn:
            for _ in range(7):  # past psycopg's prepare threshold: still planned for its values
                mode = conn.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    assert mode == "force_custom_plan"
